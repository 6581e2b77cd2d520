import { asc, eq, inArray } from 'drizzle-orm';
import type { AuditLog } from '../audit';
import type { Database } from '../db/open';
import {
  groupMembers,
  type RepositoryRow,
  type RepositorySettings,
  type RepositoryType,
  repositories,
  type WritePolicy,
} from '../db/schema';
import { BadRequest, Conflict, NotFound } from '../errors';
import { checkPathPatterns, InvalidPathPattern, splitPathPatterns } from '../goproxy/path-patterns';
import { SumdbError } from '../goproxy/sumdb-record';
import { repositoryGosumdb } from './gosumdb';
import type { Actor } from './repository';

export const REPOSITORY_NAME = /^[a-z0-9._-]{1,64}$/;

export interface RepositoryInput {
  name: string;
  format?: 'go';
  type: RepositoryType;
  remoteUrl?: string | null;
  members?: string[];
  anonymousRead?: boolean;
  writePolicy?: WritePolicy;
  description?: string;
  settings?: RepositorySettings;
  /** Hosted: module path patterns it owns (GOPRIVATE glob syntax, one an element). */
  namespaces?: string[];
  /** Proxy: only these paths are asked upstream (empty: all). */
  includePaths?: string[];
  /** Proxy: these paths are never asked upstream. */
  excludePaths?: string[];
}

export type RepositoryPatch = Partial<Omit<RepositoryInput, 'name' | 'type' | 'format'>> & { type?: RepositoryType; format?: 'go' };

/** What the API and UI show of a repository: never the upstream password. */
export interface RepositoryView {
  name: string;
  format: 'go';
  type: RepositoryType;
  /** Path of its GOPROXY endpoint, relative to the server's base URL. */
  path: string;
  remoteUrl: string | null;
  members: string[];
  anonymousRead: boolean;
  writePolicy: WritePolicy;
  description: string;
  namespaces: string[];
  includePaths: string[];
  excludePaths: string[];
  settings: Omit<RepositorySettings, 'upstreamPassword'> & { upstreamPasswordSet: boolean };
  createdAt: string;
  updatedAt: string;
}

const SETTING_LIMITS: Record<string, [number, number]> = {
  connectTimeoutMs: [100, 300_000],
  responseTimeoutMs: [100, 3_600_000],
  metadataTtlSeconds: [0, 31_536_000],
  negativeTtlSeconds: [0, 31_536_000],
};

function checkName(name: string): void {
  if (!REPOSITORY_NAME.test(name) || /^\.+$/.test(name)) {
    throw new BadRequest(`repository name "${name}" is invalid: use 1-64 of lowercase letters, digits, "-", "_", "." (not only dots)`, {
      field: 'name',
    });
  }
}

/** Field bounds: generous for people, small enough that a row stays a row (every field reaches the UI and the API). */
export const FIELD_LIMITS = {
  description: 1000,
  remoteUrl: 2048,
  upstreamCredential: 1024,
  members: 100,
  patterns: 100,
  pattern: 256,
  gosumdb: 2048,
} as const;

/** Which kind of repository each path-pattern field belongs to (path-routing.ts says what they do). */
const PATTERN_FIELDS = { namespaces: 'hosted', includePaths: 'proxy', excludePaths: 'proxy' } as const;
type PatternField = keyof typeof PATTERN_FIELDS;

/**
 * A list of module path patterns as stored: trimmed, trailing slashes dropped, each a glob the go command
 * would accept; a 400 naming the field (and the pattern) otherwise.
 */
function checkPatterns(field: PatternField, type: RepositoryType, patterns: unknown): string[] {
  if (!Array.isArray(patterns) || patterns.some((p) => typeof p !== 'string'))
    throw new BadRequest(`${field} must be a list of module path patterns`, { field });
  if (patterns.length > 0 && type !== PATTERN_FIELDS[field])
    throw new BadRequest(`${field} is only for ${PATTERN_FIELDS[field]} repositories`, { field });
  if (patterns.length > FIELD_LIMITS.patterns)
    throw new BadRequest(`${field} may hold at most ${FIELD_LIMITS.patterns} patterns`, { field });
  const out: string[] = [];
  for (const raw of patterns as string[]) {
    const p = raw.trim().replace(/\/+$/, '');
    if (p === '') throw new BadRequest(`${field} has an empty pattern`, { field });
    if (p.length > FIELD_LIMITS.pattern)
      throw new BadRequest(`${field}: a pattern must be at most ${FIELD_LIMITS.pattern} characters`, { field });
    if (/[,\s]/.test(p))
      throw new BadRequest(
        `${field}: ${JSON.stringify(raw)} is not one pattern: give each pattern as its own list entry, without spaces or commas`,
        {
          field,
        },
      );
    try {
      checkPathPatterns([p]);
    } catch (err) {
      if (err instanceof InvalidPathPattern) throw new BadRequest(`${field}: ${err.message}`, { field });
      throw err;
    }
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

function checkDescription(description: string | undefined): string | undefined {
  if (description !== undefined && description.length > FIELD_LIMITS.description) {
    throw new BadRequest(`description must be at most ${FIELD_LIMITS.description} characters (this one has ${description.length})`, {
      field: 'description',
    });
  }
  return description;
}

function checkRemoteUrl(remoteUrl: string | null | undefined): string {
  if (!remoteUrl)
    throw new BadRequest('a proxy repository needs remoteUrl, the http(s) URL of an upstream GOPROXY', { field: 'remoteUrl' });
  if (remoteUrl.length > FIELD_LIMITS.remoteUrl)
    throw new BadRequest(`remoteUrl must be at most ${FIELD_LIMITS.remoteUrl} characters`, { field: 'remoteUrl' });
  let url: URL;
  try {
    url = new URL(remoteUrl);
  } catch {
    throw new BadRequest(`remoteUrl "${remoteUrl}" is not a URL`, { field: 'remoteUrl' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BadRequest('remoteUrl must be an http or https URL', { field: 'remoteUrl' });
  if (url.username || url.password) {
    throw new BadRequest('remoteUrl must not carry credentials: set settings.upstreamUsername and settings.upstreamPassword', {
      field: 'remoteUrl',
    });
  }
  if (url.search || url.hash) throw new BadRequest('remoteUrl must not have a query or fragment', { field: 'remoteUrl' });
  return url.toString().replace(/\/+$/, '');
}

function checkSettings(settings: RepositorySettings | undefined): RepositorySettings {
  const out: RepositorySettings = {};
  if (!settings) return out;
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined || value === null) continue;
    if (key === 'upstreamUsername' || key === 'upstreamPassword') {
      if (typeof value !== 'string') throw new BadRequest(`settings.${key} must be a string`, { field: 'settings' });
      if (value.length > FIELD_LIMITS.upstreamCredential) {
        throw new BadRequest(`settings.${key} must be at most ${FIELD_LIMITS.upstreamCredential} characters`, { field: 'settings' });
      }
      (out as Record<string, unknown>)[key] = value;
      continue;
    }
    if (key === 'checksumVerification') {
      if (value !== 'sumdb' && value !== 'off')
        throw new BadRequest('settings.checksumVerification must be "sumdb" or "off"', { field: 'settings' });
      out.checksumVerification = value;
      continue;
    }
    if (key === 'noSumdbPatterns') {
      if (typeof value !== 'string') throw new BadRequest('settings.noSumdbPatterns must be a string', { field: 'settings' });
      try {
        checkPathPatterns(splitPathPatterns(value));
      } catch (err) {
        if (err instanceof InvalidPathPattern) throw new BadRequest(`settings.noSumdbPatterns: ${err.message}`, { field: 'settings' });
        throw err;
      }
      out.noSumdbPatterns = value.trim();
      continue;
    }
    if (key === 'gosumdb') {
      if (typeof value !== 'string' || value.length > FIELD_LIMITS.gosumdb)
        throw new BadRequest(`settings.gosumdb must be a string of at most ${FIELD_LIMITS.gosumdb} characters`, { field: 'settings' });
      try {
        repositoryGosumdb(value);
      } catch (err) {
        if (err instanceof SumdbError) throw new BadRequest(`settings.gosumdb: ${err.message}`, { field: 'settings' });
        throw err;
      }
      out.gosumdb = value.trim().replace(/\s+/g, ' ');
      continue;
    }
    const limits = SETTING_LIMITS[key];
    if (!limits) throw new BadRequest(`settings.${key} is not a known setting`, { field: 'settings' });
    if (typeof value !== 'number' || !Number.isInteger(value) || value < limits[0] || value > limits[1]) {
      throw new BadRequest(`settings.${key} must be a whole number from ${limits[0]} to ${limits[1]}`, { field: 'settings' });
    }
    (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

export class RepositoryService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  async rowByName(name: string): Promise<RepositoryRow> {
    const [row] = await this.db.select().from(repositories).where(eq(repositories.name, name)).limit(1);
    if (!row) throw new NotFound(`repository "${name}" does not exist`);
    return row;
  }

  async findRow(name: string): Promise<RepositoryRow | undefined> {
    const [row] = await this.db.select().from(repositories).where(eq(repositories.name, name)).limit(1);
    return row;
  }

  /** What findRow() gives, when it is already in memory; undefined otherwise (here: never, nothing is kept). */
  rowNow(_name: string): RepositoryRow | undefined {
    return undefined;
  }

  /** What memberRows() gives, when it is already in memory; undefined otherwise (here: never, nothing is kept). */
  memberRowsNow(_groupId: number): RepositoryRow[] | undefined {
    return undefined;
  }

  /** Members of a group, in order. */
  async memberRows(groupId: number): Promise<RepositoryRow[]> {
    const rows = await this.db
      .select({ repo: repositories })
      .from(groupMembers)
      .innerJoin(repositories, eq(groupMembers.memberId, repositories.id))
      .where(eq(groupMembers.groupId, groupId))
      .orderBy(asc(groupMembers.position));
    return rows.map((r) => r.repo);
  }

  async view(row: RepositoryRow): Promise<RepositoryView> {
    const members = row.type === 'group' ? (await this.memberRows(row.id)).map((m) => m.name) : [];
    const { upstreamPassword, ...settings } = row.settings ?? {};
    return {
      name: row.name,
      format: 'go',
      type: row.type,
      path: `/go/${row.name}/`,
      remoteUrl: row.remoteUrl,
      members,
      anonymousRead: row.anonymousRead,
      writePolicy: row.writePolicy,
      description: row.description,
      namespaces: row.namespaces,
      includePaths: row.includePaths,
      excludePaths: row.excludePaths,
      settings: { ...settings, upstreamPasswordSet: !!upstreamPassword },
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  /** Every repository row, by name. */
  async allRows(): Promise<RepositoryRow[]> {
    return this.db.select().from(repositories).orderBy(asc(repositories.name));
  }

  async list(): Promise<RepositoryView[]> {
    const rows = await this.db.select().from(repositories).orderBy(asc(repositories.name));
    return Promise.all(rows.map((r) => this.view(r)));
  }

  async get(name: string): Promise<RepositoryView> {
    return this.view(await this.rowByName(name));
  }

  async create(input: RepositoryInput, actor: Actor): Promise<RepositoryView> {
    checkName(input.name);
    if (input.format !== undefined && input.format !== 'go') throw new BadRequest('format must be "go"', { field: 'format' });
    if (!['hosted', 'proxy', 'group'].includes(input.type)) throw new BadRequest('type must be hosted, proxy or group', { field: 'type' });
    const remoteUrl = input.type === 'proxy' ? checkRemoteUrl(input.remoteUrl) : null;
    if (input.type !== 'proxy' && input.remoteUrl) throw new BadRequest('remoteUrl is only for proxy repositories', { field: 'remoteUrl' });
    if (input.type !== 'group' && input.members?.length)
      throw new BadRequest('members are only for group repositories', { field: 'members' });
    const settings = checkSettings(input.settings);
    checkDescription(input.description);
    const namespaces = checkPatterns('namespaces', input.type, input.namespaces ?? []);
    const includePaths = checkPatterns('includePaths', input.type, input.includePaths ?? []);
    const excludePaths = checkPatterns('excludePaths', input.type, input.excludePaths ?? []);

    const row = await this.db.transaction(async (tx) => {
      const [created] = await tx
        .insert(repositories)
        .values({
          name: input.name,
          format: 'go',
          type: input.type,
          remoteUrl,
          anonymousRead: input.anonymousRead ?? input.type === 'proxy',
          writePolicy: input.writePolicy ?? 'allow_once',
          description: input.description ?? '',
          settings,
          namespaces,
          includePaths,
          excludePaths,
        })
        .onConflictDoNothing()
        .returning();
      if (!created) throw new Conflict(`repository "${input.name}" already exists`, { field: 'name' });
      if (input.type === 'group') await this.setMembers(tx as unknown as Database, created, input.members ?? []);
      await this.audit.recordIn(tx as unknown as Database, {
        actor: actor.username,
        action: 'repository.create',
        repository: created.name,
        clientAddress: actor.clientAddress,
        details: { type: created.type },
      });
      return created;
    });
    return this.view(row);
  }

  async update(name: string, patch: RepositoryPatch, actor: Actor): Promise<RepositoryView> {
    const row = await this.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      const [current] = await t.select().from(repositories).where(eq(repositories.name, name)).for('update').limit(1);
      if (!current) throw new NotFound(`repository "${name}" does not exist`);
      if (patch.type !== undefined && patch.type !== current.type)
        throw new BadRequest('the type of a repository cannot change', { field: 'type' });
      if (patch.format !== undefined && patch.format !== 'go') throw new BadRequest('format must be "go"', { field: 'format' });
      const changes: Partial<typeof repositories.$inferInsert> = { updatedAt: new Date() };
      if (patch.remoteUrl !== undefined) {
        if (current.type !== 'proxy') throw new BadRequest('remoteUrl is only for proxy repositories', { field: 'remoteUrl' });
        changes.remoteUrl = checkRemoteUrl(patch.remoteUrl);
      }
      if (patch.anonymousRead !== undefined) changes.anonymousRead = patch.anonymousRead;
      if (patch.writePolicy !== undefined) changes.writePolicy = patch.writePolicy;
      if (patch.description !== undefined) changes.description = checkDescription(patch.description);
      for (const field of Object.keys(PATTERN_FIELDS) as PatternField[]) {
        if (patch[field] !== undefined) changes[field] = checkPatterns(field, current.type, patch[field]);
      }
      if (patch.settings !== undefined) {
        // Merge, so that a PATCH without upstreamPassword keeps the stored one; null clears a key.
        const merged: Record<string, unknown> = { ...current.settings };
        for (const [k, v] of Object.entries(patch.settings)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        changes.settings = checkSettings(merged as RepositorySettings);
      }
      if (patch.members !== undefined) {
        if (current.type !== 'group') throw new BadRequest('members are only for group repositories', { field: 'members' });
        await this.setMembers(t, current, patch.members);
      }
      const [updated] = await t.update(repositories).set(changes).where(eq(repositories.id, current.id)).returning();
      await this.audit.recordIn(t, {
        actor: actor.username,
        action: 'repository.update',
        repository: name,
        clientAddress: actor.clientAddress,
        details: { fields: Object.keys(patch) },
      });
      return updated;
    });
    return this.view(row);
  }

  /**
   * Deletes a repository unless a group contains it, in one transaction: the row is locked first, so a
   * concurrent update adding it to a group either commits before (and this refuses) or waits and finds
   * it gone (setMembers locks its members too); the cascade never silently undoes a membership.
   */
  async delete(name: string, actor: Actor): Promise<void> {
    await this.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      const [row] = await t.select().from(repositories).where(eq(repositories.name, name)).for('update').limit(1);
      if (!row) throw new NotFound(`repository "${name}" does not exist`);
      const groups = await t
        .select({ name: repositories.name })
        .from(groupMembers)
        .innerJoin(repositories, eq(groupMembers.groupId, repositories.id))
        .where(eq(groupMembers.memberId, row.id));
      if (groups.length > 0) {
        throw new Conflict(
          `repository "${name}" is a member of group ${groups.map((g) => `"${g.name}"`).join(', ')}: remove it there first`,
        );
      }
      await t.delete(repositories).where(eq(repositories.id, row.id));
      await this.audit.recordIn(t, {
        actor: actor.username,
        action: 'repository.delete',
        repository: name,
        clientAddress: actor.clientAddress,
      });
    });
  }

  /** Replaces a group's members, refusing unknown names, duplicates, and cycles through nested groups. */
  private async setMembers(db: Database, group: RepositoryRow, names: string[]): Promise<void> {
    if (names.length > FIELD_LIMITS.members)
      throw new BadRequest(`a group may have at most ${FIELD_LIMITS.members} members`, { field: 'members' });
    if (new Set(names).size !== names.length) throw new BadRequest('members must not repeat a repository', { field: 'members' });
    // Locked until commit: a member being deleted meanwhile is waited for, then missing (below), never cascaded away after.
    const rows = names.length ? await db.select().from(repositories).where(inArray(repositories.name, names)).for('share') : [];
    const byName = new Map(rows.map((r) => [r.name, r]));
    const unknown = names.filter((n) => !byName.has(n));
    if (unknown.length) throw new BadRequest(`unknown member repositories: ${unknown.join(', ')}`, { field: 'members' });
    for (const n of names) {
      if (n === group.name) throw new BadRequest(`group "${group.name}" cannot contain itself`, { field: 'members' });
    }
    await this.refuseCycle(
      db,
      group,
      names.map((n) => byName.get(n)!),
    );
    await db.delete(groupMembers).where(eq(groupMembers.groupId, group.id));
    if (names.length) {
      await db.insert(groupMembers).values(names.map((n, i) => ({ groupId: group.id, memberId: byName.get(n)!.id, position: i })));
    }
  }

  private async refuseCycle(db: Database, group: RepositoryRow, members: RepositoryRow[]): Promise<void> {
    // Walk down from each member group; reaching `group` again means a cycle.
    const seen = new Set<number>();
    const stack = members.filter((m) => m.type === 'group').map((m) => ({ row: m, path: [group.name, m.name] }));
    while (stack.length) {
      const { row, path } = stack.pop()!;
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      const children = await db
        .select({ repo: repositories })
        .from(groupMembers)
        .innerJoin(repositories, eq(groupMembers.memberId, repositories.id))
        .where(eq(groupMembers.groupId, row.id));
      for (const { repo } of children) {
        if (repo.id === group.id)
          throw new BadRequest(`group "${group.name}" would contain itself through ${[...path, repo.name].join(' -> ')}`, {
            field: 'members',
          });
        if (repo.type === 'group') stack.push({ row: repo, path: [...path, repo.name] });
      }
    }
  }
}
