import type { RepositoryRow } from '../db/schema';
import { NotFound } from '../errors';
import { matchPathPatterns } from '../goproxy/path-patterns';

/**
 * Where a module path may be looked up, decided from repository rows alone, before any member is asked
 * and before any cached answer is consulted (a rows change is a `repository` invalidation, which drops
 * every group answer):
 * - a hosted repository owns the paths its `namespaces` match;
 * - through a group, a path some reachable hosted repository owns is asked of its owners only (and of the
 *   member groups that lead to one), never of a proxy: a private path never reaches an upstream, an
 *   outage there cannot fail it, and no public module of the same path can stand in for it;
 * - a proxy asks its upstream only for paths its include rules admit and its exclude rules do not.
 */

const q = (s: string) => JSON.stringify(s);

/** Whether `row` is a hosted repository whose namespaces match `module`. */
export function ownsPath(row: RepositoryRow, module: string): boolean {
  return row.type === 'hosted' && row.namespaces.length > 0 && matchPathPatterns(row.namespaces, module);
}

/** Whether a hosted repository takes an upload of `module`: any path when it declares no namespaces. */
export function acceptsUpload(row: RepositoryRow, module: string): boolean {
  return row.namespaces.length === 0 || matchPathPatterns(row.namespaces, module);
}

/** The reason an upload outside a hosted repository's namespaces is refused. */
export function uploadOutsideNamespaces(row: RepositoryRow, module: string): string {
  return `module path ${module} is outside the namespaces of repository ${q(row.name)} (${row.namespaces.join(', ')}): publish it to the repository that owns it, or ask an administrator to add its path to this one's namespaces`;
}

/** Whether a proxy may ask its upstream for `module`: an exclude rule wins; no include rule admits every path. */
export function proxyAdmits(row: RepositoryRow, module: string): boolean {
  if (row.excludePaths.length > 0 && matchPathPatterns(row.excludePaths, module)) return false;
  return row.includePaths.length === 0 || matchPathPatterns(row.includePaths, module);
}

/**
 * The 404 of a path a proxy's rules keep from its upstream: plain NotFound, so the go command goes on to
 * its next GOPROXY entry and a group treats the proxy as not having it. Never remembered by the caches
 * beyond a rules change (repository invalidation).
 */
export function refusedByRules(row: RepositoryRow, module: string): NotFound {
  return new NotFound(`module path ${module} is not proxied by repository ${q(row.name)}: its path rules keep it from the upstream`);
}

/**
 * The members a group asks for `module`, in order: every member, unless some repository reachable through
 * them owns the path; then only the hosted members that own it and the member groups that reach an owner.
 * `leavesOf` gives the non-group repositories reachable through a member group.
 */
export async function routeMembers(
  members: RepositoryRow[],
  module: string,
  leavesOf: (group: RepositoryRow) => Promise<RepositoryRow[]>,
): Promise<RepositoryRow[]> {
  const owning = await Promise.all(
    members.map(async (m) => (m.type === 'group' ? (await leavesOf(m)).some((l) => ownsPath(l, module)) : ownsPath(m, module))),
  );
  return owning.some(Boolean) ? members.filter((_, i) => owning[i]) : members;
}

/** The namespaces the hosted repositories among `rows` own, each once, in order: what a team puts in GONOSUMDB. */
export function ownedNamespaces(rows: RepositoryRow[]): string[] {
  return [...new Set(rows.filter((r) => r.type === 'hosted').flatMap((r) => r.namespaces))];
}
