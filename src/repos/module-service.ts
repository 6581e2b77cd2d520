import { and, eq, inArray, like, max, sql } from 'drizzle-orm';
import type { Database } from '../db/open';
import { type ModuleVersionRow, moduleVersions, type RepositoryRow } from '../db/schema';
import { BadRequest, NotFound } from '../errors';
import { parseInfo } from '../goproxy/info';
import { sortByModulePath } from '../goproxy/module-path';
import { compareVersions, isPseudoVersion, isValidVersion, selectLatest } from '../goproxy/version';
import type { BlobStore } from '../storage/blob-store';
import { type Readme, readReadme } from './readme';
import type { Actor, DeleteOptions, GoRepository } from './repository';
import { findVersionRow, listVersionRows } from './version-rows';

export interface ModuleSummary {
  module: string;
  versions: number;
  /** What @latest would answer from the versions stored here; null when none qualifies. */
  latest: string | null;
  /** When the newest of its versions was stored. */
  updatedAt: string;
}

export interface ModulePage {
  total: number;
  modules: ModuleSummary[];
}

export interface ModuleVersionView {
  version: string;
  time: string;
  size: number | null;
  h1: string | null;
  goModH1: string | null;
  origin: 'uploaded' | 'cached';
  createdBy: string | null;
  createdAt: string;
  /** Zip downloads served from this repository (written every few seconds, so a little behind). */
  downloads: number;
  lastDownloadedAt: string | null;
}

export interface ModuleQuery {
  /** Only module paths starting with this; empty: all. */
  prefix?: string;
  limit?: number;
  offset?: number;
}

export interface VersionPageQuery {
  /** Versions per page; empty: DEFAULT_VERSION_PAGE. */
  limit?: number;
  /** The last version of the previous page; empty: the newest. */
  cursor?: string;
}

export interface VersionPage {
  /** Versions of the module, over all pages. */
  total: number;
  versions: ModuleVersionView[];
  /** What to pass as the cursor for the next page; null: this is the last. */
  nextCursor: string | null;
}

export const DEFAULT_PAGE = 50;
export const DEFAULT_VERSION_PAGE = 100;
export const MAX_PAGE = 500;
/** Missing .info files fetched for one view, and how long the view waits for them. */
const MAX_INFO_FETCHES = 16;
const INFO_WAIT_MS = 2000;
/** A go.mod larger than this is not previewed; the go command's own limit is 16 MiB. */
const MAX_PREVIEW_BYTES = 1024 * 1024;

/** LIKE treats % and _ as wildcards; module paths may contain _, so the prefix is matched literally. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * What a repository stores, for the admin API and the UI: module paths, their versions, go.mod
 * previews. Works from module_versions rows, so hosted (uploaded) and proxy (cached) repositories
 * list the same way; groups store nothing of their own.
 */
export class ModuleService {
  constructor(
    private readonly db: Database,
    private readonly storage: BlobStore,
    private readonly instantiate: (row: RepositoryRow) => GoRepository,
  ) {}

  async listModules(repo: RepositoryRow, query: ModuleQuery = {}): Promise<ModulePage> {
    this.refuseWithoutOwnVersions(repo);
    const limit = Math.min(Math.max(query.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
    const offset = Math.max(query.offset ?? 0, 0);
    const where = and(
      eq(moduleVersions.repositoryId, repo.id),
      query.prefix ? like(moduleVersions.modulePath, likePrefix(query.prefix)) : undefined,
    );
    // Natural order (svc-2 before svc-10) is not an order SQL knows: the module paths of one repository are
    // grouped in the database and ordered here; the page's versions are read only for the page.
    const all = await this.db
      .select({
        module: moduleVersions.modulePath,
        versions: sql<number>`count(*)`.mapWith(Number),
        updatedAt: max(moduleVersions.createdAt),
      })
      .from(moduleVersions)
      .where(where)
      .groupBy(moduleVersions.modulePath);
    const total = all.length;
    const page = sortByModulePath(all, (m) => m.module).slice(offset, offset + limit);
    if (page.length === 0) return { total: Number(total), modules: [] };

    // @latest needs semver and pseudo-version rules SQL does not know: one more query for the page's versions.
    const versions = await this.db
      .select({ module: moduleVersions.modulePath, version: moduleVersions.version, time: moduleVersions.time })
      .from(moduleVersions)
      .where(
        and(
          eq(moduleVersions.repositoryId, repo.id),
          inArray(
            moduleVersions.modulePath,
            page.map((p) => p.module),
          ),
        ),
      );
    const byModule = new Map<string, { version: string; time: Date }[]>();
    for (const v of versions) {
      const list = byModule.get(v.module) ?? [];
      list.push(v);
      byModule.set(v.module, list);
    }
    return {
      total: Number(total),
      modules: page.map((p) => ({
        module: p.module,
        versions: p.versions,
        latest: selectLatest(byModule.get(p.module) ?? [])?.version ?? null,
        updatedAt: toIso(p.updatedAt),
      })),
    };
  }

  /** Versions of one module, newest first. */
  async listVersions(repo: RepositoryRow, module: string): Promise<ModuleVersionView[]> {
    this.refuseWithoutOwnVersions(repo);
    const rows = await listVersionRows(this.db, repo.id, module);
    if (rows.length === 0) throw new NotFound(`module ${module} not found in repository "${repo.name}"`);
    const times = await this.fetchMissingInfo(repo, rows);
    return rows.sort((a, b) => compareVersions(b.version, a.version)).map((r) => versionView(withTime(r, times)));
  }

  /**
   * One page of a module's versions, newest first in semver order. The cursor is the last version of the
   * previous page: the page starts below it, so versions published meanwhile do not shift the pages.
   */
  async versionPage(repo: RepositoryRow, module: string, query: VersionPageQuery = {}): Promise<VersionPage> {
    return pageOfVersions(await this.listVersions(repo, module), query);
  }

  /** The README at the root of one version's zip, if it has one and the zip is stored here. */
  async readme(repo: RepositoryRow, module: string, version: string): Promise<Readme | null> {
    return readReadme(this.storage, await this.row(repo, module, version));
  }

  async version(repo: RepositoryRow, module: string, version: string): Promise<ModuleVersionView> {
    const row = await this.row(repo, module, version);
    return versionView(withTime(row, await this.fetchMissingInfo(repo, [row])));
  }

  /**
   * A cached version's time is its .info's (the tag or commit time), not when it was fetched; a version filled
   * from its .mod or .zip alone (the go command asks no .info for a version go.mod names) has a stand-in, so
   * its .info is fetched now. A pseudo-version carries its time. Best effort and bounded: with the upstream
   * slow or down the stand-in is shown and the fetches go on (the next view has them). The times that
   * arrived, by version (the .info is answered once checked, maybe before its row has it).
   */
  private async fetchMissingInfo(repo: RepositoryRow, rows: ModuleVersionRow[]): Promise<Map<string, Date>> {
    const times = new Map<string, Date>();
    const missing = rows.filter((r) => r.origin === 'cached' && !r.infoKey && !isPseudoVersion(r.version)).slice(0, MAX_INFO_FETCHES);
    if (missing.length === 0) return times;
    const reader = this.instantiate(repo).reader;
    const fetches = Promise.all(
      missing.map((r) =>
        reader
          .info(r.modulePath, r.version)
          .then((text) => {
            const { time } = parseInfo(text);
            if (time) times.set(r.version, new Date(time));
          })
          .catch(() => {}),
      ),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([fetches, new Promise((resolve) => (timer = setTimeout(resolve, INFO_WAIT_MS)))]);
    clearTimeout(timer);
    return new Map(times);
  }

  /** The go.mod text of one version, from storage only: a proxy that has not cached it does not fetch it for a preview. */
  async goMod(repo: RepositoryRow, module: string, version: string): Promise<string> {
    const row = await this.row(repo, module, version);
    if (!row.modKey) throw new NotFound(`the go.mod of ${module}@${version} is not stored in repository "${repo.name}"`);
    const stat = await this.storage.head(row.modKey);
    if (!stat) throw new Error(`blob ${row.modKey} referenced by the database is missing from storage`);
    if (stat.size > MAX_PREVIEW_BYTES)
      throw new BadRequest(`the go.mod of ${module}@${version} is ${stat.size} bytes, too large to preview`);
    return new Response(await this.storage.get(row.modKey)).text();
  }

  /** Unpublishes (hosted) or evicts (proxy) one version through its repository, which audits it in the same transaction. */
  async deleteVersion(repo: RepositoryRow, module: string, version: string, actor: Actor, opts?: DeleteOptions): Promise<void> {
    const { remover } = this.refuseWithoutOwnVersions(repo);
    await remover!.deleteVersion(module, version, actor, opts);
  }

  /**
   * Versions of its own are what the remover role removes: a repository without it (a group, which answers
   * from its members) has nothing to list, show or delete here.
   */
  private refuseWithoutOwnVersions(repo: RepositoryRow): GoRepository {
    const instance = this.instantiate(repo);
    if (!instance.remover) {
      throw new BadRequest(`repository "${repo.name}" is a ${repo.type} and stores no modules of its own; list its members instead`);
    }
    return instance;
  }

  private async row(repo: RepositoryRow, module: string, version: string): Promise<ModuleVersionRow> {
    this.refuseWithoutOwnVersions(repo);
    const row = await findVersionRow(this.db, repo.id, module, version);
    if (!row) throw new NotFound(`${module}@${version} not found in repository "${repo.name}"`);
    return row;
  }
}

/** One page of versions already sorted newest first (see ModuleService.versionPage). */
export function pageOfVersions(all: ModuleVersionView[], query: VersionPageQuery): VersionPage {
  const limit = Math.min(Math.max(query.limit ?? DEFAULT_VERSION_PAGE, 1), MAX_PAGE);
  let start = 0;
  if (query.cursor) {
    const cursor = query.cursor;
    if (!isValidVersion(cursor)) {
      throw new BadRequest(`cursor ${JSON.stringify(cursor)} is not a version; pass the last version of the previous page`);
    }
    start = all.findIndex((v) => compareVersions(v.version, cursor) < 0);
    if (start < 0) start = all.length;
  }
  const versions = all.slice(start, start + limit);
  const more = start + limit < all.length;
  return { total: all.length, versions, nextCursor: more ? versions[versions.length - 1].version : null };
}

function toIso(value: Date | string | null): string {
  // max() over a timestamp comes back as a string from some drivers and a Date from others.
  return value === null ? new Date(0).toISOString() : new Date(value).toISOString();
}

function versionView(row: ModuleVersionRow): ModuleVersionView {
  return {
    version: row.version,
    time: row.time.toISOString(),
    size: row.zipSize,
    h1: row.h1,
    goModH1: row.goModH1,
    origin: row.origin,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    downloads: Number(row.downloadCount),
    lastDownloadedAt: row.lastDownloadedAt?.toISOString() ?? null,
  };
}

/** The row with the time its .info gave, where one was just fetched. */
function withTime(row: ModuleVersionRow, times: Map<string, Date>): ModuleVersionRow {
  const time = times.get(row.version);
  return time ? { ...row, time } : row;
}
