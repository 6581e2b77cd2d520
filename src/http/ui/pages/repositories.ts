import type { RepositoryView } from '../../../repos/repository-service';
import { type Html, html } from '../html';
import { csrfField, layout, url } from '../layout';
import type { SignedInEnv, UiEnv } from '../session';

export function goproxyUrl(ui: UiEnv, repo: Pick<RepositoryView, 'path'>): string {
  return ui.baseUrl + repo.path;
}

export const repoHref = (ui: UiEnv, name: string, rest = '') => url(ui, `/repositories/${encodeURIComponent(name)}${rest}`);

export function repositoriesPage(ui: SignedInEnv, repos: RepositoryView[]): Html {
  const admin = ui.principal.isAdmin;
  const rows = repos.map(
    (r, i) => html`<tr>
      <td><a href="${repoHref(ui, r.name)}"><strong>${r.name}</strong></a>${r.description && html`<div class="muted">${r.description}</div>`}</td>
      <td><span class="badge ${r.type}">${r.type}</span></td>
      <td>
        <div class="copy-row">
          <label class="offscreen" for="goproxy-${i}">GOPROXY URL of ${r.name}</label>
          <input id="goproxy-${i}" type="text" readonly class="mono" value="${goproxyUrl(ui, r)}" spellcheck="false">
          <button type="button" class="small secondary" data-copy="goproxy-${i}">Copy</button>
        </div>
      </td>
      <td>${r.anonymousRead ? 'anonymous' : 'signed-in'}</td>
      ${admin && html`<td><span class="actions"><a href="${repoHref(ui, r.name, '/edit')}">Edit</a> <a href="${repoHref(ui, r.name, '/delete')}">Delete</a></span></td>`}
    </tr>`,
  );
  return layout(ui, {
    title: 'Repositories',
    section: 'repositories',
    body: html`<div class="page-head">
        <h1>Repositories</h1>
        ${admin && html`<a class="button" href="${url(ui, '/repositories/new')}">Create Repository</a>`}
      </div>
      ${
        repos.length
          ? html`<div class="table-wrap"><table>
              <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">GOPROXY URL</th><th scope="col">Read</th>${admin && html`<th scope="col">Actions</th>`}</tr></thead>
              <tbody>${rows}</tbody>
            </table></div>`
          : html`<div class="panel"><p>No repositories yet.${admin ? ' Create one to start publishing or proxying Go modules.' : ' Ask an administrator for access.'}</p></div>`
      }`,
  });
}

export function deleteRepositoryPage(ui: SignedInEnv, repo: RepositoryView, error?: string): Html {
  return layout(ui, {
    title: `Delete ${repo.name}`,
    section: 'repositories',
    body: html`<div class="panel narrow">
      <h1>Delete repository ${repo.name}?</h1>
      <p>This removes the <span class="badge ${repo.type}">${repo.type}</span> repository <strong>${repo.name}</strong>
      ${repo.type === 'group' ? '(its members are kept)' : 'and every module version stored in it'}. Builds that use
      <code>${goproxyUrl(ui, repo)}</code> will fail. This cannot be undone.</p>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      <form method="post" action="${repoHref(ui, repo.name, '/delete')}">
        ${csrfField(ui)}
        <div class="actions">
          <button type="submit" class="danger">Delete ${repo.name}</button>
          <a class="button secondary" href="${repoHref(ui, repo.name)}">Cancel</a>
        </div>
      </form>
    </div>`,
  });
}
