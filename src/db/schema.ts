import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export type RepositoryType = 'hosted' | 'proxy' | 'group';
export type WritePolicy = 'allow_once' | 'allow' | 'deny';
export type Role = 'read' | 'write' | 'admin';

/** Per-repository knobs that do not deserve a column of their own; every field optional, defaults in code. */
export interface RepositorySettings {
  /** Proxy: Basic credentials for a private upstream. The password is stored as given (needed to call out). */
  upstreamUsername?: string;
  upstreamPassword?: string;
  /** Proxy: connect timeout and whole-response idle timeout, milliseconds. */
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  /** Proxy: how long list/@latest answers are fresh, and how long a 404/410 is remembered, seconds. */
  metadataTtlSeconds?: number;
  negativeTtlSeconds?: number;
  /**
   * Proxy: "sumdb" (the default) compares every fetched zip and go.mod with the checksum database's
   * record before storing it; "off" stores what the upstream serves.
   */
  checksumVerification?: 'sumdb' | 'off';
  /** Proxy: module path patterns (the go command's GONOSUMDB syntax, comma-separated) stored without that check. */
  noSumdbPatterns?: string;
  /**
   * Proxy: the checksum database this repository checks against, in the go command's GOSUMDB syntax
   * (`name[+hash+key] [url]`; with a key, signed tree heads and inclusion proofs are verified). Unset: the
   * server's (ORBITREPO_GOSUMDB, else the go command's).
   */
  gosumdb?: string;
}

export const repositories = pgTable('repositories', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  format: text('format').notNull().default('go'),
  type: text('type').$type<RepositoryType>().notNull(),
  remoteUrl: text('remote_url'),
  anonymousRead: boolean('anonymous_read').notNull().default(false),
  writePolicy: text('write_policy').$type<WritePolicy>().notNull().default('allow_once'),
  description: text('description').notNull().default(''),
  settings: jsonb('settings').$type<RepositorySettings>().notNull().default({}),
  /**
   * Hosted: the module path patterns this repository owns (the go command's GOPRIVATE glob syntax, one
   * pattern an element). Through a group, a path they match is asked of its owners only, never of a
   * proxy member; uploads outside them are refused. Empty: owns nothing, takes uploads of any path.
   */
  namespaces: text('namespaces').array().notNull().default(sql`'{}'::text[]`),
  /** Proxy: only paths matching one of these are asked upstream. Empty: every path. */
  includePaths: text('include_paths').array().notNull().default(sql`'{}'::text[]`),
  /** Proxy: paths matching one of these are answered 404 here, never asked upstream. Wins over includePaths. */
  excludePaths: text('exclude_paths').array().notNull().default(sql`'{}'::text[]`),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Ordered members of a group repository. A member that is a group itself is allowed; cycles are refused in code. */
export const groupMembers = pgTable(
  'group_members',
  {
    groupId: integer('group_id')
      .notNull()
      .references(() => repositories.id, { onDelete: 'cascade' }),
    memberId: integer('member_id')
      .notNull()
      .references(() => repositories.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.memberId] }), uniqueIndex('group_members_position').on(t.groupId, t.position)],
);

export const users = pgTable('users', {
  id: serial('id').primaryKey(),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  isAdmin: boolean('is_admin').notNull().default(false),
  disabled: boolean('disabled').notNull().default(false),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** sha256 (hex) of the whole secret; the secret itself is never stored. */
    tokenHash: text('token_hash').notNull().unique(),
    /** The first characters of the secret, shown in lists so people can tell tokens apart. */
    displayPrefix: text('display_prefix').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_tokens_user').on(t.userId)],
);

export const repositoryPermissions = pgTable(
  'repository_permissions',
  {
    repositoryId: integer('repository_id')
      .notNull()
      .references(() => repositories.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').$type<Role>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.userId] })],
);

/**
 * One row per (repository, module, version). Hosted rows are inserted whole, after every blob is stored.
 * Proxy rows appear when the first file of a version is cached and gain blob keys as more arrive.
 */
export const moduleVersions = pgTable(
  'module_versions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    repositoryId: integer('repository_id')
      .notNull()
      .references(() => repositories.id, { onDelete: 'cascade' }),
    modulePath: text('module_path').notNull(),
    version: text('version').notNull(),
    /** The version's time as .info reports it. */
    time: timestamp('time', { withTimezone: true }).notNull(),
    zipSize: bigint('zip_size', { mode: 'number' }),
    zipSha256: text('zip_sha256'),
    /** go.sum hash of the zip ("h1:…"). */
    h1: text('h1'),
    /** go.sum hash of the go.mod ("h1:…"). */
    goModH1: text('go_mod_h1'),
    zipKey: text('zip_key'),
    modKey: text('mod_key'),
    /** Proxy only: the upstream's .info bytes as served (may carry Origin); hosted .info is derived. */
    infoKey: text('info_key'),
    origin: text('origin').$type<'uploaded' | 'cached'>().notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    /** Zip downloads served, added in batches by each process (lifecycle/download-stats.ts), so a little behind. */
    downloadCount: bigint('download_count', { mode: 'number' }).notNull().default(0),
    lastDownloadedAt: timestamp('last_downloaded_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('module_versions_repo_module_version').on(t.repositoryId, t.modulePath, t.version),
    index('module_versions_repo_module').on(t.repositoryId, t.modulePath),
    // Module search: LIKE 'prefix%' on lower(path) whatever the collation (repos/module-search.ts).
    index('module_versions_lower_path').using('btree', sql`lower(${t.modulePath}) text_pattern_ops`),
    // Module search: LIKE '%text%' on lower(path). pg_trgm's operator class: migration 0006 creates the extension
    // and this index only where the server offers the extension (PGlite loads it in db/open.ts); without it the
    // same query is a scan and answers the same.
    index('module_versions_lower_path_trgm').using('gin', sql`lower(${t.modulePath}) gin_trgm_ops`),
    // Browsing every module in natural order a page at a time (keyset, repos/module-search.ts); the function is migration 0004's.
    index('module_versions_sort_key').using(
      'btree',
      sql`module_path_sort_key(${t.modulePath}) COLLATE "C"`,
      sql`${t.modulePath} COLLATE "C"`,
      sql`${t.repositoryId}`,
    ),
  ],
);

/**
 * What a deleted hosted version was, under write policy allow_once: go.sum files out there still pin these
 * hashes, so only the same bytes may be published again under that version (which restores it). An
 * administrator may purge a tombstone, knowingly letting different bytes take the version.
 */
export const versionTombstones = pgTable(
  'version_tombstones',
  {
    repositoryId: integer('repository_id')
      .notNull()
      .references(() => repositories.id, { onDelete: 'cascade' }),
    modulePath: text('module_path').notNull(),
    version: text('version').notNull(),
    h1: text('h1').notNull(),
    goModH1: text('go_mod_h1').notNull(),
    zipSize: bigint('zip_size', { mode: 'number' }),
    deletedBy: text('deleted_by'),
    deletedAt: timestamp('deleted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.modulePath, t.version] })],
);

/**
 * Per-repository cleanup rules, run with the storage lifecycle; each null rule is off. A proxy version not
 * downloaded for unusedDays is evicted (fetched again on demand); hosted removals leave tombstones.
 */
export const cleanupPolicies = pgTable('cleanup_policies', {
  repositoryId: integer('repository_id')
    .primaryKey()
    .references(() => repositories.id, { onDelete: 'cascade' }),
  /** Proxy: remove cached versions not downloaded (nor cached) for this many days. */
  unusedDays: integer('unused_days'),
  /** Keep only the newest N pre-releases (pseudo-versions included) of each module. */
  keepPrereleases: integer('keep_prereleases'),
  /** Keep at most N versions of each module; the version @latest answers is never removed. */
  keepVersions: integer('keep_versions'),
  updatedBy: text('updated_by'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Proxy metadata cache: list, @latest and sumdb answers, with their freshness.
 * `key` is e.g. "list:example.com/m", "latest:example.com/m", "sumdb:sum.example/latest".
 * status 200 with a body, or 404/410 remembered for the negative TTL.
 */
export const proxyCacheEntries = pgTable(
  'proxy_cache_entries',
  {
    repositoryId: integer('repository_id')
      .notNull()
      .references(() => repositories.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    status: integer('status').notNull(),
    body: bytea('body'),
    contentType: text('content_type'),
    fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.repositoryId, t.key] })],
);

/** Cross-process coalescing: the holder of a key's lease fetches; others wait for its NOTIFY or the lease to lapse. */
export const fetchLeases = pgTable('fetch_leases', {
  key: text('key').primaryKey(),
  owner: text('owner').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

/** Web UI sessions; the cookie holds the secret, the row holds its sha256. */
export const uiSessions = pgTable(
  'ui_sessions',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    csrfToken: text('csrf_token').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('ui_sessions_user').on(t.userId)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actor: text('actor'),
    action: text('action').notNull(),
    repository: text('repository'),
    target: text('target'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    clientAddress: text('client_address'),
  },
  (t) => [index('audit_log_at').on(t.at)],
);

export type RepositoryRow = typeof repositories.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type ModuleVersionRow = typeof moduleVersions.$inferSelect;
export type VersionTombstoneRow = typeof versionTombstones.$inferSelect;
export type CleanupPolicyRow = typeof cleanupPolicies.$inferSelect;
