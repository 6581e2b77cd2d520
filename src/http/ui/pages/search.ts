import type { ModuleHit, SearchPage } from '../../../repos/module-search';
import { type Html, html } from '../html';
import { layout, url } from '../layout';
import type { SignedInEnv } from '../session';
import { repoHref } from './repositories';
import { formatTime, moduleHref } from './repository';

export interface SearchPageData {
  query: string;
  result: SearchPage;
  offset: number;
  /** Browsing: the module path the page starts after (keyset); undefined on the first page and for searches. */
  after?: string;
  pageSize: number;
}

function placesOf(ui: SignedInEnv, hit: ModuleHit): Html {
  return html`<ul class="places">${hit.places.map(
    (p) => html`<li>
      ${p.via && html`<a href="${repoHref(ui, p.via)}">${p.via}</a> <span class="muted" aria-label="through member">→</span> `}<a href="${moduleHref(ui, p.repository, hit.module)}">${p.repository}</a>
      <span class="muted">${p.latest ?? '—'} · ${p.versions} version${p.versions === 1 ? '' : 's'} · ${formatTime(p.updatedAt)}</span>
    </li>`,
  )}</ul>`;
}

/** A table of module hits (the search page, a group's page), each module once with every place that holds it. */
export function hitsTable(ui: SignedInEnv, hits: ModuleHit[]): Html {
  const rows = hits.map((hit) => {
    const first = hit.places[0];
    return html`<tr>
      <td><a class="mono" href="${moduleHref(ui, first.repository, hit.module)}">${hit.module}</a></td>
      <td class="mono">${first.latest ?? '—'}</td>
      <td>${placesOf(ui, hit)}</td>
    </tr>`;
  });
  return html`<div class="table-wrap"><table class="hits">
    <thead><tr><th scope="col">Module</th><th scope="col">Latest</th><th scope="col">Held in</th></tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

/** Previous / next links for an offset-paged list; `href` builds the address of an offset. */
export function offsetPager(offset: number, pageSize: number, total: number, href: (offset: number) => string): Html {
  const prev = offset > 0 ? href(Math.max(0, offset - pageSize)) : null;
  const next = offset + pageSize < total ? href(offset + pageSize) : null;
  if (!prev && !next) return html``;
  return html`<nav class="actions pager" aria-label="Pages">${prev && html`<a href="${prev}" rel="prev">← Previous</a>`} ${next && html`<a href="${next}" rel="next">Next →</a>`}</nav>`;
}

/**
 * A search's pages go by offset (its total is known); browsing every module goes by keyset, with no total:
 * a link back to the first page and one to the page after the last module shown.
 */
export function resultPager(
  result: SearchPage,
  d: { offset: number; pageSize: number; after?: string },
  href: (at: { offset?: number; after?: string }) => string,
): Html {
  if (result.total !== null) return offsetPager(d.offset, d.pageSize, result.total, (offset) => href({ offset }));
  const first = d.after !== undefined ? href({}) : null;
  const next = result.next ? href({ after: result.next }) : null;
  if (!first && !next) return html``;
  return html`<nav class="actions pager" aria-label="Pages">${first && html`<a href="${first}">← First page</a>`} ${next && html`<a href="${next}" rel="next">Next →</a>`}</nav>`;
}

/** `?offset=` or `?after=` of a result page, for resultPager. */
export function pageParams(at: { offset?: number; after?: string }): string {
  return `${at.offset ? `&offset=${at.offset}` : ''}${at.after !== undefined ? `&after=${encodeURIComponent(at.after)}` : ''}`;
}

export function searchPage(ui: SignedInEnv, d: SearchPageData): Html {
  const { result } = d;
  const href = (at: { offset?: number; after?: string }) => url(ui, `/search?q=${encodeURIComponent(d.query)}${pageParams(at)}`);
  const shown = !result.hits.length
    ? '0'
    : result.total === null
      ? `${result.hits.length} on this page`
      : `${d.offset + 1}–${d.offset + result.hits.length} of ${result.total}${result.truncated ? '+' : ''}`;
  return layout(ui, {
    title: d.query ? `Modules matching ${d.query}` : 'Modules',
    section: 'search',
    query: d.query,
    body: html`<h1>Modules ${d.query && html`matching <code>${d.query}</code>`} <span class="muted">(${shown})</span></h1>
      <p class="muted">Every module path in the repositories you may read, groups included: a module is listed once, with each place that holds it and, in a group, the member its versions come from.</p>
      ${result.truncated && html`<p class="warning" role="status">More modules match than one search reads: narrow the query to see them all.</p>`}
      ${
        result.hits.length
          ? hitsTable(ui, result.hits)
          : html`<p class="muted">${d.query ? html`No module path you may read contains <code>${d.query}</code>.` : 'No modules yet in the repositories you may read.'}</p>`
      }
      ${resultPager(result, d, href)}`,
  });
}
