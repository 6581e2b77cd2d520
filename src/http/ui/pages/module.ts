import { type GoModRequire, parseModuleDirective, type Retraction, replaceOnlyNote, retractionFor } from '../../../goproxy/gomod';
import { isPrerelease } from '../../../goproxy/version';
import type { ModuleVersionView, VersionPage } from '../../../repos/module-service';
import { README_MAX_BYTES, type Readme } from '../../../repos/readme';
import type { RepositoryView } from '../../../repos/repository-service';
import { type Html, html } from '../html';
import { copyBlock, copyLine, csrfField, layout, url } from '../layout';
import { renderMarkdown } from '../markdown';
import type { SignedInEnv } from '../session';
import { repoHref } from './repositories';
import { formatSize, formatTime, moduleHref } from './repository';

export interface ModulePageData {
  repo: RepositoryView;
  module: string;
  /** The page of versions shown in the table. */
  versionPage: VersionPage;
  /** The cursor this page started from; empty: the newest. */
  cursor?: string;
  /** The version whose details (go.mod, go get line) are shown. */
  selected: ModuleVersionView | null;
  /** The selected version's go.mod, or why it cannot be shown. */
  goMod: { text: string } | { problem: string } | null;
  canWrite: boolean;
  /** What @latest answers here once retracted versions are left out; null: none. */
  latest: string | null;
  /** The newest go.mod's deprecation message; null: not deprecated. */
  deprecated: string | null;
  /** The newest go.mod's retract directives. */
  retractions: Retraction[];
  /** The shown version's requirements, each with the repository here that holds that module (null: none the viewer may read). */
  requires: (GoModRequire & { heldIn: string | null })[];
  /** The README of @latest's zip; null: none, or its zip is not stored here. */
  readme: (Readme & { version: string }) | null;
}

function readmeSection(d: ModulePageData): Html {
  if (!d.readme) return html``;
  const r = d.readme;
  return html`<section class="panel" aria-labelledby="readme-h">
    <h2 id="readme-h">${r.name} <span class="muted">(${r.version})</span></h2>
    <div class="readme" data-readme>${renderMarkdown(r.text)}</div>
    ${r.truncated && html`<p class="muted">Only the first ${README_MAX_BYTES / 1024} KiB of the README are shown.</p>`}
  </section>`;
}

/** Latest, pre-release and retracted badges of one version. */
function versionBadges(d: ModulePageData, version: string): Html {
  const retracted = retractionFor(version, d.retractions);
  return html`${version === d.latest && html` <span class="badge latest">latest</span>`}${isPrerelease(version) && html` <span class="badge prerelease">pre-release</span>`}${
    retracted && html` <span class="badge retracted" title="${retracted.rationale || 'no reason given'}">retracted</span>`
  }`;
}

function goSumBlock(d: ModulePageData, v: ModuleVersionView): Html {
  if (!v.h1 || !v.goModH1) return html`<p class="muted">The go.sum lines appear once the zip is stored here.</p>`;
  return copyBlock('go-sum', 'go.sum lines', `${d.module} ${v.version} ${v.h1}\n${d.module} ${v.version}/go.mod ${v.goModH1}`);
}

function requiresSection(ui: SignedInEnv, d: ModulePageData): Html {
  if (d.requires.length === 0) return html`<h3>Requires</h3><p class="muted">No requirements.</p>`;
  return html`<h3>Requires <span class="muted">(${d.requires.length})</span></h3>
    <ul class="requires">${d.requires.map(
      (r) =>
        html`<li><span class="mono">${r.heldIn ? html`<a href="${moduleHref(ui, r.heldIn, r.path, r.version)}">${r.path}</a>` : r.path} ${r.version}</span>${
          r.indirect && html` <span class="muted">indirect</span>`
        }</li>`,
    )}</ul>`;
}

function deleteForm(ui: SignedInEnv, d: ModulePageData, v: ModuleVersionView): Html {
  const what = d.repo.type === 'proxy' ? 'Evict' : 'Delete';
  return html`<form method="post" action="${repoHref(ui, d.repo.name, '/versions/delete')}" class="inline"
      data-confirm="${what} ${d.module}@${v.version} from ${d.repo.name}?${d.repo.type === 'proxy' ? '' : ' Builds that pin it will fail.'}">
    ${csrfField(ui)}
    <input type="hidden" name="module" value="${d.module}">
    <input type="hidden" name="version" value="${v.version}">
    <button type="submit" class="small danger" aria-label="${what} ${v.version}">${what}</button>
  </form>`;
}

function retraction(d: ModulePageData, version: string): Html {
  const r = retractionFor(version, d.retractions);
  if (!r) return html``;
  return html`<p class="warning" data-retracted="${version}">Retracted by the module's authors${r.rationale ? html`: ${r.rationale}` : '.'} The go command skips it for @latest and warns when a build uses it.</p>`;
}

/** The go get line; for a fork (its go.mod names another module), the replace it is usable through, and why. */
function howToUse(d: ModulePageData, version: string): Html {
  const text = d.goMod && 'text' in d.goMod ? d.goMod.text : null;
  const note = text === null ? undefined : replaceOnlyNote(d.module, version, text);
  if (note === undefined || text === null) return copyLine('go-get', 'Add it to a module', `go get ${d.module}@${version}`);
  const declared = parseModuleDirective(text);
  return html`<p class="warning" data-replace-only>Usable through <code>replace</code> only: ${note}.</p>
    ${copyLine('go-replace', 'Use it in place of the module it forks', `go mod edit -replace ${declared}=${d.module}@${version}`)}`;
}

function details(ui: SignedInEnv, d: ModulePageData): Html {
  const v = d.selected;
  if (!v) return html``;
  const goMod =
    d.goMod &&
    ('text' in d.goMod ? html`<pre id="gomod" tabindex="0">${d.goMod.text}</pre>` : html`<p class="muted">${d.goMod.problem}</p>`);
  return html`<section class="panel" aria-labelledby="version-h">
    <h2 id="version-h"><span class="mono">${d.module}@${v.version}</span>${versionBadges(d, v.version)}</h2>
    ${retraction(d, v.version)}
    ${howToUse(d, v.version)}
    ${goSumBlock(d, v)}
    <dl class="grid2">
      <div><dt class="muted">Time</dt><dd>${formatTime(v.time)}</dd></div>
      <div><dt class="muted">Zip size</dt><dd>${formatSize(v.size)}</dd></div>
      <div><dt class="muted">h1 (zip)</dt><dd class="mono">${v.h1 ?? '—'}</dd></div>
      <div><dt class="muted">h1 (go.mod)</dt><dd class="mono">${v.goModH1 ?? '—'}</dd></div>
      <div><dt class="muted">Downloads</dt><dd>${v.downloads}${v.lastDownloadedAt ? html`, last ${formatTime(v.lastDownloadedAt)}` : ''}</dd></div>
      <div><dt class="muted">Origin</dt><dd>${v.origin === 'uploaded' ? `uploaded${v.createdBy ? ` by ${v.createdBy}` : ''}` : 'cached from upstream'}</dd></div>
    </dl>
    ${requiresSection(ui, d)}
    <h3>go.mod</h3>
    ${goMod}
  </section>`;
}

function versionPager(ui: SignedInEnv, d: ModulePageData): Html {
  const { nextCursor } = d.versionPage;
  if (!d.cursor && !nextCursor) return html``;
  const base = moduleHref(ui, d.repo.name, d.module, d.selected?.version);
  return html`<nav class="actions pager" aria-label="Version pages">
    ${d.cursor && html`<a href="${base}" rel="first">← Newest</a>`}
    ${nextCursor && html`<a href="${base}&cursor=${encodeURIComponent(nextCursor)}" rel="next">Older →</a>`}
  </nav>`;
}

export function modulePage(ui: SignedInEnv, d: ModulePageData): Html {
  const rows = d.versionPage.versions.map(
    (v) => html`<tr${v.version === d.selected?.version ? html` class="selected" aria-current="true"` : ''}>
      <td><a class="mono" href="${moduleHref(ui, d.repo.name, d.module, v.version)}${d.cursor ? `&cursor=${encodeURIComponent(d.cursor)}` : ''}">${v.version}</a>${versionBadges(d, v.version)}</td>
      <td>${formatTime(v.time)}</td>
      <td class="num">${formatSize(v.size)}</td>
      <td class="mono">${v.h1 ?? '—'}</td>
      <td class="num">${v.downloads}</td>
      <td>${v.lastDownloadedAt ? formatTime(v.lastDownloadedAt) : '—'}</td>
      ${d.canWrite && html`<td>${deleteForm(ui, d, v)}</td>`}
    </tr>`,
  );
  return layout(ui, {
    title: d.module,
    section: 'repositories',
    body: html`<p class="muted"><a href="${url(ui, '/')}">Repositories</a> / <a href="${repoHref(ui, d.repo.name)}">${d.repo.name}</a> /</p>
      <h1 class="mono">${d.module}</h1>
      ${d.deprecated !== null && html`<p class="warning" data-deprecated><span class="badge deprecated">deprecated</span> ${d.deprecated || 'This module is deprecated.'}</p>`}
      ${details(ui, d)}
      ${readmeSection(d)}
      <section aria-labelledby="versions-h">
        <h2 id="versions-h">Versions <span class="muted">(${d.versionPage.total})</span></h2>
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Version</th><th scope="col">Time</th><th scope="col">Size</th><th scope="col">h1 hash</th><th scope="col">Downloads</th><th scope="col">Last download</th>${d.canWrite && html`<th scope="col"><span class="offscreen">Actions</span></th>`}</tr></thead>
          <tbody>${rows}</tbody>
        </table></div>
        ${versionPager(ui, d)}
      </section>`,
  });
}
