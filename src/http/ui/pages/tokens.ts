import type { TokenView } from '../../../auth/tokens';
import { type FieldErrors, formErrorBox, textField } from '../forms';
import { type Html, html } from '../html';
import { copyLine, csrfField, layout, url } from '../layout';
import type { SignedInEnv } from '../session';
import { formatTime } from './repository';

function status(t: TokenView, now: number): Html {
  if (t.revokedAt) return html`<span class="badge revoked">revoked</span>`;
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return html`<span class="badge expired">expired</span>`;
  return html`<span class="badge">active</span>`;
}

export function tokensPage(
  ui: SignedInEnv,
  opts: {
    tokens: TokenView[];
    created?: { token: TokenView; secret: string };
    values?: { name: string; expires: string };
    errors?: FieldErrors;
  },
): Html {
  const now = Date.now();
  const e = opts.errors ?? {};
  const rows = opts.tokens.map(
    (t) => html`<tr>
      <td>${t.name}</td>
      <td class="mono">${t.displayPrefix}…</td>
      <td>${formatTime(t.createdAt)}</td>
      <td>${t.lastUsedAt ? formatTime(t.lastUsedAt) : 'never'}</td>
      <td>${t.expiresAt ? formatTime(t.expiresAt) : 'never'}</td>
      <td>${status(t, now)}</td>
      <td>${
        !t.revokedAt &&
        html`<form method="post" action="${url(ui, `/tokens/${t.id}/revoke`)}" class="inline" data-confirm="Revoke the token ${t.name}? Anything using it stops working at once.">
          ${csrfField(ui)}<button type="submit" class="small danger" aria-label="Revoke ${t.name}">Revoke</button></form>`
      }</td>
    </tr>`,
  );
  return layout(ui, {
    title: 'API tokens',
    section: 'tokens',
    body: html`<h1>API tokens</h1>
      <p class="muted">Tokens let the go command and CI read and publish as you: use one as the password in GOPROXY or ~/.netrc.</p>
      ${
        opts.created &&
        html`<section class="secret" aria-labelledby="secret-h">
          <h2 id="secret-h">Token ${opts.created.token.name} was created</h2>
          <p>Copy it now: it is shown only this once, and only its hash is kept.</p>
          ${copyLine('new-token', 'Your new token', opts.created.secret)}
        </section>`
      }
      <section class="panel narrow" aria-labelledby="create-h">
        <h2 id="create-h">Create a token</h2>
        ${formErrorBox(e)}
        <form method="post" action="${url(ui, '/tokens')}" novalidate>
          ${csrfField(ui)}
          ${textField({ id: 'token-name', name: 'name', label: 'Name', value: opts.values?.name, required: true, error: e.name, hint: 'What it is for, e.g. "laptop" or "ci".' })}
          ${textField({ id: 'token-expires', name: 'expires', label: 'Expires on (optional)', type: 'date', value: opts.values?.expires, error: e.expires, hint: 'Empty: never expires.' })}
          <button type="submit">Create token</button>
        </form>
      </section>
      <h2>Your tokens</h2>
      ${
        rows.length
          ? html`<div class="table-wrap"><table>
              <thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Status</th><th scope="col"><span class="offscreen">Actions</span></th></tr></thead>
              <tbody>${rows}</tbody></table></div>`
          : html`<p class="muted">No tokens yet.</p>`
      }`,
  });
}
