import type { CleanupPolicyView } from '../../../lifecycle/cleanup';
import type { SearchPage } from '../../../repos/module-search';
import type { ModulePage } from '../../../repos/module-service';
import type { RepositoryView } from '../../../repos/repository-service';
import type { TombstoneView } from '../../../repos/tombstones';
import { type Html, html } from '../html';
import { csrfField, layout, url } from '../layout';
import type { SignedInEnv } from '../session';
import { cleanupPanel } from './cleanup';
import { repoHref } from './repositories';
import { hitsTable, pageParams, resultPager } from './search';
import { setupSnippets, uploadForm } from './snippets';

export function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function formatSize(bytes: number | null): string {
  if (bytes === null) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export const moduleHref = (ui: SignedInEnv, repo: string, module: string, version?: string) =>
  repoHref(ui, repo, `/module?module=${encodeURIComponent(module)}${version ? `&version=${encodeURIComponent(version)}` : ''}`);

export interface RepositoryPageData {
  repo: RepositoryView;
  /** Null for groups, which store nothing of their own. */
  modules: ModulePage | null;
  /** Groups: their members' modules (only members the viewer may read); null otherwise. */
  groupModules: SearchPage | null;
  /** Module path patterns owned here (a group: by the hosted members the viewer may read), for the GONOSUMDB snippet. */
  namespaces: string[];
  query: string;
  offset: number;
  /** A group's module list, browsed: the module path the page starts after. */
  after?: string;
  pageSize: number;
  canWrite: boolean;
  canAdmin: boolean;
  /** Hosted: deleted versions whose hashes are remembered; empty list or null: none to show. */
  tombstones: TombstoneView[] | null;
  /** The cleanup policy, for administrators of a hosted or proxy repository; null: no panel. */
  cleanup: CleanupPolicyView | null;
}

function tombstonesSection(ui: SignedInEnv, d: RepositoryPageData): Html {
  if (!d.tombstones?.length) return html``;
  const rows = d.tombstones.map(
    (t) => html`<tr>
      <td class="mono">${t.module}@${t.version}</td>
      <td class="mono">${t.h1}</td>
      <td>${formatTime(t.deletedAt)}${t.deletedBy && html` by ${t.deletedBy}`}</td>
      ${
        ui.principal.isAdmin &&
        html`<td><form method="post" action="${repoHref(ui, d.repo.name, '/tombstones/purge')}" class="inline"
          data-confirm="Purge the tombstone of ${t.module}@${t.version}? Different bytes could then be published as ${t.version}, and every go.sum that pins ${t.h1} would fail with a checksum mismatch.">
          ${csrfField(ui)}
          <input type="hidden" name="module" value="${t.module}">
          <input type="hidden" name="version" value="${t.version}">
          <button type="submit" class="small danger" aria-label="Purge the tombstone of ${t.module}@${t.version}">Purge</button>
        </form></td>`
      }
    </tr>`,
  );
  return html`<section class="panel" aria-labelledby="tombstones-h">
    <h2 id="tombstones-h">Deleted versions <span class="muted">(${d.tombstones.length})</span></h2>
    <p class="muted">go.sum files may still pin these hashes, so only the same bytes can be published again under these versions (which restores them).
      Purging a tombstone lets different bytes take the version: every build that pinned the old hash then fails with a checksum mismatch.</p>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">Version</th><th scope="col">h1 hash</th><th scope="col">Deleted</th>${ui.principal.isAdmin && html`<th scope="col"><span class="offscreen">Actions</span></th>`}</tr></thead>
      <tbody>${rows}</tbody>
    </table></div>
  </section>`;
}

function groupSection(ui: SignedInEnv, d: RepositoryPageData): Html {
  const { repo } = d;
  const found = d.groupModules ?? { total: 0, truncated: false, hits: [], next: null };
  const base = repoHref(ui, repo.name);
  const href = (at: { offset?: number; after?: string }) => `${base}?q=${encodeURIComponent(d.query)}${pageParams(at)}`;
  return html`<section class="panel" aria-labelledby="members-h">
      <h2 id="members-h">Members</h2>
      <p>A group stores no modules of its own: it asks its members, in this order.</p>
      <ol>${repo.members.map((m) => html`<li><a href="${repoHref(ui, m)}">${m}</a></li>`)}</ol>
    </section>
    <section class="panel" aria-labelledby="modules-h">
      <h2 id="modules-h">Modules ${found.total !== null && html`<span class="muted">(${found.total}${found.truncated ? '+' : ''})</span>`}</h2>
      <p class="muted">What its members hold, each module once with the member its versions come from; members you may not read are left out.</p>
      <form method="get" action="${base}" class="search" role="search">
        <label class="offscreen" for="module-search">Search this group's modules</label>
        <input id="module-search" name="q" type="search" value="${d.query}" placeholder="Module path contains…" spellcheck="false">
        <button type="submit" class="secondary">Search</button>
      </form>
      ${found.hits.length ? hitsTable(ui, found.hits) : html`<p class="muted">${d.query ? html`No module path contains <code>${d.query}</code>.` : 'No modules in the members you may read.'}</p>`}
      ${resultPager(found, d, href)}
    </section>`;
}

function modulesSection(ui: SignedInEnv, d: RepositoryPageData): Html {
  const { repo, modules } = d;
  if (!modules) return groupSection(ui, d);
  const rows = modules.modules.map(
    (m) => html`<tr>
      <td><a class="mono" href="${moduleHref(ui, repo.name, m.module)}">${m.module}</a></td>
      <td class="num">${m.versions}</td>
      <td class="mono">${m.latest ?? '—'}</td>
      <td>${formatTime(m.updatedAt)}</td>
    </tr>`,
  );
  const base = repoHref(ui, repo.name);
  const q = d.query ? `&q=${encodeURIComponent(d.query)}` : '';
  const prev = d.offset > 0 ? `${base}?offset=${Math.max(0, d.offset - d.pageSize)}${q}` : null;
  const next = d.offset + d.pageSize < modules.total ? `${base}?offset=${d.offset + d.pageSize}${q}` : null;
  return html`<section class="panel" aria-labelledby="modules-h">
    <h2 id="modules-h">Modules <span class="muted">(${modules.total})</span></h2>
    <form method="get" action="${base}" class="search" role="search">
      <label class="offscreen" for="module-search">Search modules by path prefix</label>
      <input id="module-search" name="q" type="search" value="${d.query}" placeholder="Module path starts with…" spellcheck="false">
      <button type="submit" class="secondary">Search</button>
    </form>
    ${
      rows.length
        ? html`<div class="table-wrap"><table>
            <thead><tr><th scope="col">Module</th><th scope="col">Versions</th><th scope="col">Latest</th><th scope="col">Updated</th></tr></thead>
            <tbody>${rows}</tbody></table></div>`
        : html`<p class="muted">${d.query ? html`No module path starts with <code>${d.query}</code>.` : repo.type === 'proxy' ? 'Nothing cached yet: modules appear here once the go command has fetched them through this proxy.' : 'No modules yet.'}</p>`
    }
    ${(prev || next) && html`<p class="actions">${prev && html`<a href="${prev}">← Previous</a>`} ${next && html`<a href="${next}">Next →</a>`}</p>`}
  </section>`;
}

export function repositoryPage(ui: SignedInEnv, d: RepositoryPageData): Html {
  const { repo } = d;
  const uploads = repo.type === 'hosted' && d.canWrite && repo.writePolicy !== 'deny';
  return layout(ui, {
    title: repo.name,
    section: 'repositories',
    body: html`<p class="muted"><a href="${url(ui, '/')}">Repositories</a> /</p>
      <div class="page-head">
        <div>
          <h1>${repo.name} <span class="badge ${repo.type}">${repo.type}</span></h1>
          ${repo.description && html`<p class="muted">${repo.description}</p>`}
          ${repo.remoteUrl && html`<p class="muted">Proxies <code>${repo.remoteUrl}</code></p>`}
        </div>
        ${
          d.canAdmin &&
          html`<div class="actions"><a class="button secondary" href="${repoHref(ui, repo.name, '/edit')}">Edit</a>
          ${ui.principal.isAdmin && html`<a class="button secondary" href="${repoHref(ui, repo.name, '/delete')}">Delete</a>`}</div>`
        }
      </div>
      ${setupSnippets(ui, repo, d.namespaces, d.modules?.modules.map((m) => m.module) ?? [])}
      ${uploads && uploadForm(ui, repo)}
      ${modulesSection(ui, d)}
      ${d.cleanup && cleanupPanel(ui, repo, d.cleanup)}
      ${tombstonesSection(ui, d)}`,
  });
}
