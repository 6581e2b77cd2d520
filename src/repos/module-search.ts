import { and, inArray, max, notLike, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/open';
import { moduleVersions, type RepositoryRow } from '../db/schema';
import { sortByModulePath } from '../goproxy/module-path';
import { selectLatest } from '../goproxy/version';
import type { Logger } from '../log';
import { MAX_GROUP_DEPTH } from './group';
import { DEFAULT_PAGE, MAX_PAGE } from './module-service';

/** A repository that stores modules (hosted or proxy), and the group, if any, through which it is reached. */
export interface SearchPlace {
  row: RepositoryRow;
  /** The readable group the viewer reaches this member through; null: the repository itself. */
  via: string | null;
}

export interface ModuleHitPlace {
  /** Where to read the versions: the hosted or proxy repository that stores them. */
  repository: string;
  type: 'hosted' | 'proxy';
  /** The group this member answers in; null: found in the repository itself. */
  via: string | null;
  versions: number;
  latest: string | null;
  updatedAt: string;
}

/** One module path, once, with every readable place that holds it. */
export interface ModuleHit {
  module: string;
  places: ModuleHitPlace[];
}

export interface SearchPage {
  /** Module paths matching, over all pages (a lower bound when truncated); null when browsing (not counted). */
  total: number | null;
  /** True when more than SCAN_BOUND (repository, module) pairs matched: refine the query to see the rest. */
  truncated: boolean;
  hits: ModuleHit[];
  /** Browsing (empty query): pass as `after` for the next page; null: this was the last. Undefined for a search. */
  next?: string | null;
}

export interface SearchQuery {
  /**
   * Case-insensitive; a path starting with it ranks before one merely containing it. Empty: browse every
   * module a page at a time (`after`, not `offset`).
   */
  q?: string;
  limit?: number;
  /** A search's page. */
  offset?: number;
  /** Browsing: the last module path of the previous page; the page starts after it in natural order. */
  after?: string;
}

/**
 * How many (repository, module) pairs one search reads at most. Natural order and de-duplication across
 * repositories happen here, not in SQL, so the matches are read whole; past this bound the answer says
 * it is truncated instead of growing without limit.
 */
export const SCAN_BOUND = 20_000;

/** Rows one step of a browse walk reads (versions, not modules: a module has a row per version and repository). */
const BROWSE_CHUNK = 1000;

/** LIKE treats % and _ as wildcards; module paths may contain _, so the text is matched literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** pg_trgm indexes runs of three characters: a shorter text has none to look up, so the index cannot narrow it. */
const TRIGRAM = 3;

/**
 * Rows whose lowered path contains `text`. From three characters on, LIKE '%text%', which the trigram index
 * (migration 0006) answers where pg_trgm is installed and a scan answers elsewhere, the same rows either way.
 * Shorter, strpos: a plan the planner cannot turn into a walk of the whole trigram index.
 */
function containing(lowerPath: SQL, text: string): SQL {
  if ([...text].length < TRIGRAM) return sql`strpos(${lowerPath}, ${text}) > 0`;
  return sql`${lowerPath} like ${`%${escapeLike(text)}%`}`;
}

interface Pair {
  repositoryId: number;
  module: string;
  versions: number;
  updatedAt: Date | string | null;
}

/** The trigram index of migration 0006, which a PostgreSQL server without pg_trgm does not have. */
export const TRIGRAM_INDEX = 'module_versions_lower_path_trgm';

/**
 * Whether substring searches have the trigram index (false: they scan, with the same answers, slower on large
 * servers), and the database's name.
 */
export async function trigramIndex(db: Database): Promise<{ present: boolean; database: string }> {
  const result = await db.execute(
    sql`select current_database() as database, exists (select 1 from pg_indexes where indexname = ${TRIGRAM_INDEX}) as present`,
  );
  const [row] = (Array.isArray(result) ? result : (result as unknown as { rows: unknown[] }).rows) as {
    database: string;
    present: boolean;
  }[];
  return { present: row.present === true, database: row.database };
}

/** Says once per process and database that module search scans (migration 0006 found no pg_trgm); a failed question says nothing. */
const warnedWithoutTrigram = new Set<string>();
export async function warnWithoutTrigramIndex(db: Database, log: Logger): Promise<void> {
  let index: { present: boolean; database: string };
  try {
    index = await trigramIndex(db);
  } catch {
    return;
  }
  if (index.present || warnedWithoutTrigram.has(index.database)) return;
  warnedWithoutTrigram.add(index.database);
  log.warn(
    `module search has no trigram index (${TRIGRAM_INDEX}): the PostgreSQL server did not let migration 0006 create the pg_trgm extension, so substring searches scan every readable row; install the extension (it ships with PostgreSQL's contrib) and create the index as the migration does to index them`,
    { database: index.database },
  );
}

/**
 * Module paths across the repositories a viewer may read, for the UI's search box and a group's page.
 * Prefix matches come from the lower(module_path) btree (text_pattern_ops, so LIKE 'abc%' uses it whatever
 * the collation); substring matches from the pg_trgm GIN index on lower(module_path) where the server has
 * the extension (PGlite always loads it), from a scan where it has not: the same SQL, so the same answers,
 * bounded by SCAN_BOUND either way. Nothing here asks which: the planner uses the index when it is there.
 */
export class ModuleSearch {
  constructor(
    private readonly db: Database,
    private readonly memberRows: (groupId: number) => Promise<RepositoryRow[]>,
  ) {}

  /**
   * The storing repositories reachable from `readable` (any type): each hosted or proxy one itself, and the
   * members of each group, recursively, keeping only members that are in `readable` too (a member's
   * content reaches only callers who may read that member).
   */
  async places(readable: RepositoryRow[]): Promise<SearchPlace[]> {
    const readableIds = new Set(readable.map((r) => r.id));
    const out: SearchPlace[] = [];
    for (const row of readable) {
      if (row.type !== 'group') out.push({ row, via: null });
    }
    for (const group of readable.filter((r) => r.type === 'group')) {
      for (const member of await this.storingMembers(group, readableIds, 0, new Set([group.id]))) {
        out.push({ row: member, via: group.name });
      }
    }
    return out;
  }

  /** The storing members of one group the viewer may read, in member order. */
  async groupPlaces(group: RepositoryRow, readable: RepositoryRow[]): Promise<SearchPlace[]> {
    const readableIds = new Set(readable.map((r) => r.id));
    const members = await this.storingMembers(group, readableIds, 0, new Set([group.id]));
    return members.map((row) => ({ row, via: group.name }));
  }

  async search(places: SearchPlace[], query: SearchQuery = {}): Promise<SearchPage> {
    const limit = Math.min(Math.max(query.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
    const offset = Math.max(query.offset ?? 0, 0);
    const ids = [...new Set(places.map((p) => p.row.id))];
    if (ids.length === 0) return { total: 0, truncated: false, hits: [] };
    const q = (query.q ?? '').trim().toLowerCase();
    if (!q) return this.browse(places, ids, limit, query.after);

    const pairs: Pair[] = [];
    let truncated = false;
    const read = async (filter: SQL | undefined, bound: number) => {
      const rows = await this.pairs(ids, filter, bound + 1);
      if (rows.length > bound) truncated = true;
      pairs.push(...rows.slice(0, bound));
    };
    const lowerPath = sql`lower(${moduleVersions.modulePath})`;
    const prefix = `${escapeLike(q)}%`;
    await read(sql`${lowerPath} like ${prefix}`, SCAN_BOUND);
    const prefixed = new Set(pairs.map((p) => p.module));
    if (!truncated) await read(and(containing(lowerPath, q), notLike(lowerPath, prefix)), SCAN_BOUND - pairs.length);

    const byModule = groupByModule(pairs);
    const all = sortByModulePath([...byModule.keys()], (m) => m);
    const modules = [...all.filter((m) => prefixed.has(m)), ...all.filter((m) => !prefixed.has(m))];
    const hits = await this.hits(places, ids, modules.slice(offset, offset + limit), byModule);
    return { total: modules.length, truncated, hits };
  }

  /**
   * Every module, a page at a time in natural order, from a walk of the module_path_sort_key index that stops
   * once it has limit + 1 distinct readable paths; then the counts and @latest of that page only. Nothing
   * reads, sorts or counts the modules of other pages, so the first page over ten thousand modules costs
   * what it costs over ten. The walk has no WHERE on the repository (the readable ones are kept here): with
   * one, a planner without statistics (PGlite has no autovacuum, so it never has them) picks the
   * repository index, computes every row's sort key and sorts them all.
   */
  private async browse(places: SearchPlace[], ids: number[], limit: number, after: string | undefined): Promise<SearchPage> {
    const readable = new Set(ids);
    const key = sql`module_path_sort_key(${moduleVersions.modulePath}) collate "C"`;
    const path = sql`${moduleVersions.modulePath} collate "C"`;
    // Past the previous page's last module: every repository's rows of it (no repository id is above int4's maximum).
    let from = after === undefined ? null : { module: after, repositoryId: 2_147_483_647 };
    const modules: string[] = [];
    let more = false;
    for (;;) {
      const rows = await this.db
        .select({ module: moduleVersions.modulePath, repositoryId: moduleVersions.repositoryId })
        .from(moduleVersions)
        .where(
          from
            ? sql`(${key}, ${path}, ${moduleVersions.repositoryId}) > (module_path_sort_key(${from.module}) collate "C", ${from.module} collate "C", ${from.repositoryId})`
            : undefined,
        )
        .orderBy(key, path, moduleVersions.repositoryId)
        .limit(BROWSE_CHUNK);
      for (const r of rows) {
        if (!readable.has(r.repositoryId) || modules[modules.length - 1] === r.module) continue;
        if (modules.length === limit) {
          more = true;
          break;
        }
        modules.push(r.module);
      }
      if (more || rows.length < BROWSE_CHUNK) break;
      from = rows[rows.length - 1];
    }
    const pairs = modules.length ? await this.pairs(ids, inArray(moduleVersions.modulePath, modules), modules.length * ids.length) : [];
    const hits = await this.hits(places, ids, modules, groupByModule(pairs));
    return { total: null, truncated: false, hits, next: more ? modules[modules.length - 1] : null };
  }

  /** The hits of one page: each module with every place that holds it, its count, last change and @latest. */
  private async hits(places: SearchPlace[], ids: number[], shown: string[], byModule: Map<string, Pair[]>): Promise<ModuleHit[]> {
    const latest = await this.latestOf(ids, shown);
    return shown.map((module) => {
      const held = new Map((byModule.get(module) ?? []).map((p) => [p.repositoryId, p]));
      const out: ModuleHitPlace[] = [];
      for (const place of places) {
        const pair = held.get(place.row.id);
        if (!pair) continue;
        out.push({
          repository: place.row.name,
          type: place.row.type as 'hosted' | 'proxy',
          via: place.via,
          versions: pair.versions,
          latest: latest.get(`${place.row.id} ${module}`) ?? null,
          updatedAt: toIso(pair.updatedAt),
        });
      }
      return { module, places: out };
    });
  }

  /** Which of `paths` some place holds: path -> the first place (in `places` order) that has it. */
  async holders(places: SearchPlace[], paths: string[]): Promise<Map<string, SearchPlace>> {
    const out = new Map<string, SearchPlace>();
    const ids = [...new Set(places.map((p) => p.row.id))];
    if (ids.length === 0 || paths.length === 0) return out;
    const rows = await this.db
      .selectDistinct({ repositoryId: moduleVersions.repositoryId, module: moduleVersions.modulePath })
      .from(moduleVersions)
      .where(and(inArray(moduleVersions.repositoryId, ids), inArray(moduleVersions.modulePath, paths.slice(0, MAX_PAGE))));
    const held = new Set(rows.map((r) => `${r.repositoryId} ${r.module}`));
    for (const path of paths) {
      const place = places.find((p) => held.has(`${p.row.id} ${path}`));
      if (place) out.set(path, place);
    }
    return out;
  }

  private async pairs(ids: number[], filter: SQL | undefined, limit: number): Promise<Pair[]> {
    return this.db
      .select({
        repositoryId: moduleVersions.repositoryId,
        module: moduleVersions.modulePath,
        versions: sql<number>`count(*)`.mapWith(Number),
        updatedAt: max(moduleVersions.createdAt),
      })
      .from(moduleVersions)
      .where(and(inArray(moduleVersions.repositoryId, ids), filter))
      .groupBy(moduleVersions.repositoryId, moduleVersions.modulePath)
      .limit(limit);
  }

  /** @latest of each (repository, module) of one page, keyed "id module": it needs semver rules SQL does not know. */
  private async latestOf(ids: number[], modules: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (modules.length === 0) return out;
    const rows = await this.db
      .select({
        repositoryId: moduleVersions.repositoryId,
        module: moduleVersions.modulePath,
        version: moduleVersions.version,
        time: moduleVersions.time,
      })
      .from(moduleVersions)
      .where(and(inArray(moduleVersions.repositoryId, ids), inArray(moduleVersions.modulePath, modules)));
    const grouped = new Map<string, { version: string; time: Date }[]>();
    for (const r of rows) {
      const key = `${r.repositoryId} ${r.module}`;
      const list = grouped.get(key) ?? [];
      list.push(r);
      grouped.set(key, list);
    }
    for (const [key, list] of grouped) {
      const l = selectLatest(list);
      if (l) out.set(key, l.version);
    }
    return out;
  }

  private async storingMembers(group: RepositoryRow, readableIds: Set<number>, depth: number, seen: Set<number>): Promise<RepositoryRow[]> {
    if (depth >= MAX_GROUP_DEPTH) return [];
    const out: RepositoryRow[] = [];
    for (const member of await this.memberRows(group.id)) {
      if (!readableIds.has(member.id) || seen.has(member.id)) continue;
      seen.add(member.id);
      if (member.type === 'group') out.push(...(await this.storingMembers(member, readableIds, depth + 1, seen)));
      else out.push(member);
    }
    return out;
  }
}

function groupByModule(pairs: Pair[]): Map<string, Pair[]> {
  const byModule = new Map<string, Pair[]>();
  for (const p of pairs) {
    const list = byModule.get(p.module) ?? [];
    list.push(p);
    byModule.set(p.module, list);
  }
  return byModule;
}

function toIso(value: Date | string | null): string {
  // max() over a timestamp comes back as a string from some drivers and a Date from others.
  return value === null ? new Date(0).toISOString() : new Date(value).toISOString();
}
