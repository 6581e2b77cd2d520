import type { PublicUser } from '../../../auth/users';
import type { Role } from '../../../db/schema';
import type { RepositoryView } from '../../../repos/repository-service';
import { checkboxField, type FieldErrors, formErrorBox, textField } from '../forms';
import { attrs, type Html, html } from '../html';
import { csrfField, layout, url } from '../layout';
import type { SignedInEnv } from '../session';
import { formatTime } from './repository';

export const userHref = (ui: SignedInEnv, username: string) => url(ui, `/users/${encodeURIComponent(username)}`);

export function usersPage(
  ui: SignedInEnv,
  opts: { users: PublicUser[]; values?: { username: string; isAdmin: boolean }; errors?: FieldErrors },
): Html {
  const e = opts.errors ?? {};
  const rows = opts.users.map(
    (u) => html`<tr>
      <td><a href="${userHref(ui, u.username)}">${u.username}</a></td>
      <td>${u.isAdmin ? 'administrator' : 'user'}</td>
      <td>${u.disabled ? html`<span class="badge revoked">disabled</span>` : html`<span class="badge">active</span>`}</td>
      <td>${formatTime(u.createdAt)}</td>
    </tr>`,
  );
  return layout(ui, {
    title: 'Users',
    section: 'users',
    body: html`<h1>Users</h1>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Username</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
        <tbody>${rows}</tbody></table></div>
      <section class="panel narrow" aria-labelledby="create-user-h">
        <h2 id="create-user-h">Create a user</h2>
        ${formErrorBox(e)}
        <form method="post" action="${url(ui, '/users')}" novalidate>
          ${csrfField(ui)}
          ${textField({ id: 'new-username', name: 'username', label: 'Username', value: opts.values?.username, required: true, autocomplete: 'off', error: e.username })}
          ${textField({ id: 'new-password', name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', error: e.password })}
          ${checkboxField({ id: 'new-admin', name: 'isAdmin', label: 'Administrator (may manage every repository and user)', checked: !!opts.values?.isAdmin })}
          <button type="submit">Create user</button>
        </form>
        <p class="hint">Then grant access per repository on the user's page.</p>
      </section>`,
  });
}

const ROLE_OPTIONS: [string, string][] = [
  ['', 'no access'],
  ['read', 'read'],
  ['write', 'write (upload, delete versions)'],
  ['admin', 'admin (also edit the repository and its access)'],
];

export function userPage(
  ui: SignedInEnv,
  opts: { user: PublicUser; repos: RepositoryView[]; roles: Map<string, Role>; errors?: FieldErrors },
): Html {
  const { user } = opts;
  const e = opts.errors ?? {};
  const base = userHref(ui, user.username);
  const rows = opts.repos.map((r, i) => {
    const current = opts.roles.get(r.name) ?? '';
    return html`<tr>
      <td><label for="role-${i}">${r.name}</label> <span class="badge ${r.type}">${r.type}</span></td>
      <td>${r.anonymousRead ? 'anyone may read' : ''}</td>
      <td><select id="role-${i}" name="role:${r.name}">
        ${ROLE_OPTIONS.map(([v, label]) => html`<option${attrs({ value: v, selected: v === current })}>${label}</option>`)}
      </select></td>
    </tr>`;
  });
  return layout(ui, {
    title: user.username,
    section: 'users',
    body: html`<p class="muted"><a href="${url(ui, '/users')}">Users</a> /</p>
      <h1>${user.username}</h1>
      ${formErrorBox(e)}
      <section class="panel narrow" aria-labelledby="account-h">
        <h2 id="account-h">Account</h2>
        <form method="post" action="${base}" novalidate>
          ${csrfField(ui)}
          ${checkboxField({ id: 'isAdmin', label: 'Administrator', checked: user.isAdmin, error: e.isAdmin })}
          ${checkboxField({ id: 'disabled', label: 'Disabled (cannot sign in; tokens stop working)', checked: user.disabled, error: e.disabled })}
          ${textField({ id: 'password', label: 'New password (optional)', type: 'password', autocomplete: 'new-password', error: e.password, hint: 'Empty: keep the current one.' })}
          <button type="submit">Save account</button>
        </form>
      </section>
      <section aria-labelledby="access-h">
        <h2 id="access-h">Repository access</h2>
        ${user.isAdmin ? html`<p class="muted">Administrators may do everything everywhere; the grants below apply if that changes.</p>` : ''}
        ${e.access && html`<p class="form-error" role="alert">${e.access}</p>`}
        ${
          rows.length
            ? html`<form method="post" action="${base}/permissions">
                ${csrfField(ui)}
                <div class="table-wrap"><table>
                  <thead><tr><th scope="col">Repository</th><th scope="col">Anonymous</th><th scope="col">Role</th></tr></thead>
                  <tbody>${rows}</tbody></table></div>
                <button type="submit">Save access</button>
              </form>`
            : html`<p class="muted">No repositories yet.</p>`
        }
      </section>`,
  });
}
