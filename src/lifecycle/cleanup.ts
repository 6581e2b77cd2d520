import { and, eq } from 'drizzle-orm';
import type { AuditLog } from '../audit';
import type { Database } from '../db/open';
import { cleanupPolicies, moduleVersions, type RepositoryRow, repositories } from '../db/schema';
import { AppError, BadRequest } from '../errors';
import { compareVersions, isPrerelease, isPseudoVersion, selectLatest } from '../goproxy/version';
import type { Logger } from '../log';
import type { ModuleService } from '../repos/module-service';
import type { Actor } from '../repos/repository';
import { LatestVersionKept } from '../repos/version-rows';

/** The rules of one repository; null: the rule is off. */
export interface CleanupPolicy {
  /** Proxy: remove cached versions not downloaded (nor cached) for this many days. */
  unusedDays: number | null;
  /** Keep only the newest N pre-releases (pseudo-versions included) of each module. */
  keepPrereleases: number | null;
  /** Keep at most N versions of each module. */
  keepVersions: number | null;
}

export interface CleanupPolicyView extends CleanupPolicy {
  updatedBy: string | null;
  updatedAt: string | null;
}

export type CleanupReason = 'unusedDays' | 'keepPrereleases' | 'keepVersions';

export interface CleanupCandidate {
  module: string;
  version: string;
  size: number;
  /** The first rule that selected it. */
  reason: CleanupReason;
}

export interface CleanupReport {
  repository: string;
  dryRun: boolean;
  /** What was removed (or would be, on a dry run), module by module, newest first. */
  versions: CleanupCandidate[];
  removed: number;
  bytes: number;
}

/** What the rules see of a version. */
export interface CleanupVersion {
  module: string;
  version: string;
  size: number;
  time: Date;
  cachedAt: Date;
  lastDownloadedAt: Date | null;
}

export const POLICY_MAX = 100_000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Who removals are attributed to in the audit log. */
export const CLEANUP_ACTOR = 'cleanup-policy';
const NO_POLICY: CleanupPolicy = { unusedDays: null, keepPrereleases: null, keepVersions: null };

/**
 * Lets timers and I/O run. On PGlite every query runs in this thread and resolves without I/O, so a run
 * that only awaits queries never gives the event loop a turn: requests waiting on a socket or a file
 * (an upload being staged) would wait for the whole run, and a caller looping over runs starves them for good.
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The versions of one module the policy removes. The version @latest answers (the highest release,
 * else pre-release, else the newest pseudo-version) is never among them, whatever the rules say:
 * a module is never left without its @latest by a policy.
 */
export function selectModuleRemovals(versions: CleanupVersion[], policy: CleanupPolicy, now: Date): CleanupCandidate[] {
  const latest = selectLatest(versions.map((v) => ({ version: v.version, time: v.time })))?.version;
  const newestFirst = [...versions].sort((a, b) => compareVersions(b.version, a.version));
  const chosen = new Map<string, CleanupReason>();
  if (policy.keepVersions !== null) {
    for (const v of newestFirst.slice(policy.keepVersions)) chosen.set(v.version, 'keepVersions');
  }
  if (policy.keepPrereleases !== null) {
    const pre = newestFirst.filter((v) => isPrerelease(v.version) || isPseudoVersion(v.version));
    for (const v of pre.slice(policy.keepPrereleases)) if (!chosen.has(v.version)) chosen.set(v.version, 'keepPrereleases');
  }
  if (policy.unusedDays !== null) {
    const cutoff = now.getTime() - policy.unusedDays * DAY_MS;
    for (const v of newestFirst) {
      const lastUse = Math.max(v.cachedAt.getTime(), v.lastDownloadedAt?.getTime() ?? 0);
      if (lastUse < cutoff && !chosen.has(v.version)) chosen.set(v.version, 'unusedDays');
    }
  }
  return newestFirst
    .filter((v) => v.version !== latest && chosen.has(v.version))
    .map((v) => ({ module: v.module, version: v.version, size: v.size, reason: chosen.get(v.version) as CleanupReason }));
}

/** One rule of a policy as given: a whole number in range, or null/absent for off; anything else (a string too) is a 400 naming the rule. */
export function checkRule(input: Record<string, unknown>, name: keyof CleanupPolicy): number | null {
  const v = input[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > POLICY_MAX)
    throw new BadRequest(`${name} must be a whole number from 1 to ${POLICY_MAX}, or null to switch the rule off`, { field: name });
  return v;
}

/**
 * Cleanup policies: per repository rules that remove versions, run on the storage lifecycle's schedule
 * and on demand, each with a dry run that lists exactly what would go. Removal goes through the
 * repository's own delete (ModuleService.deleteVersion): a hosted version under allow_once leaves its
 * tombstone, a cached proxy version is simply fetched again when asked for. Each removal is audited
 * (as `cleanup-policy`), and each run writes one summary entry with the count and bytes.
 */
export class CleanupService {
  constructor(private readonly deps: { db: Database; modules: ModuleService; audit: AuditLog; log: Logger }) {}

  async get(repo: RepositoryRow): Promise<CleanupPolicyView> {
    const [row] = await this.deps.db.select().from(cleanupPolicies).where(eq(cleanupPolicies.repositoryId, repo.id)).limit(1);
    if (!row) return { ...NO_POLICY, updatedBy: null, updatedAt: null };
    return {
      unusedDays: row.unusedDays,
      keepPrereleases: row.keepPrereleases,
      keepVersions: row.keepVersions,
      updatedBy: row.updatedBy,
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  /** Replaces the repository's rules; every rule null removes the policy. */
  async set(repo: RepositoryRow, input: Partial<CleanupPolicy>, actor: Actor): Promise<CleanupPolicyView> {
    if (repo.type === 'group')
      throw new BadRequest(`repository "${repo.name}" is a group and stores no versions of its own; set policies on its members`);
    const raw = input as Record<string, unknown>;
    const policy: CleanupPolicy = {
      unusedDays: checkRule(raw, 'unusedDays'),
      keepPrereleases: checkRule(raw, 'keepPrereleases'),
      keepVersions: checkRule(raw, 'keepVersions'),
    };
    if (policy.unusedDays !== null && repo.type !== 'proxy')
      throw new BadRequest('unusedDays is only for proxy repositories: a hosted version removed is gone, not fetched again', {
        field: 'unusedDays',
      });
    await this.deps.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      if (policy.unusedDays === null && policy.keepPrereleases === null && policy.keepVersions === null) {
        await t.delete(cleanupPolicies).where(eq(cleanupPolicies.repositoryId, repo.id));
      } else {
        const values = { ...policy, updatedBy: actor.username, updatedAt: new Date() };
        await t
          .insert(cleanupPolicies)
          .values({ repositoryId: repo.id, ...values })
          .onConflictDoUpdate({ target: cleanupPolicies.repositoryId, set: values });
      }
      await this.deps.audit.recordIn(t, {
        actor: actor.username,
        action: 'cleanup.policy',
        repository: repo.name,
        details: { ...policy },
        clientAddress: actor.clientAddress,
      });
    });
    return this.get(repo);
  }

  /** Applies the repository's policy (or lists what it would remove, on a dry run). */
  async run(repo: RepositoryRow, opts: { dryRun?: boolean; actor?: Actor; now?: Date } = {}): Promise<CleanupReport> {
    const dryRun = !!opts.dryRun;
    const now = opts.now ?? new Date();
    const policy = await this.get(repo);
    const report: CleanupReport = { repository: repo.name, dryRun, versions: [], removed: 0, bytes: 0 };
    if (repo.type === 'group' || (policy.unusedDays === null && policy.keepPrereleases === null && policy.keepVersions === null))
      return report;
    await yieldToEventLoop();
    const byModule = await this.versions(repo);
    for (const [module, versions] of byModule) {
      await yieldToEventLoop();
      const planned = selectModuleRemovals(versions, policy, now);
      if (planned.length === 0) continue;
      if (dryRun) {
        report.versions.push(...planned);
        continue;
      }
      // Chosen again from the module's rows as they are now: a version published or deleted since the
      // first read changes which one @latest answers, and the one it answers is never removed.
      const fresh = (await this.versions(repo, module)).get(module) ?? [];
      const again = new Set(selectModuleRemovals(fresh, policy, now).map((c) => c.version));
      for (const c of planned) {
        if (!again.has(c.version)) continue;
        try {
          // keepLatest: judged again in the delete's transaction, with the module's rows locked (the re-check
          // above is a read: a delete landing between it and this one could still make this version @latest).
          await this.deps.modules.deleteVersion(repo, c.module, c.version, { username: CLEANUP_ACTOR }, { keepLatest: true });
          report.versions.push(c);
        } catch (err) {
          // Deleted meanwhile by someone else, or @latest by now: nothing to do. Anything else ends the run, after the summary below.
          if (err instanceof LatestVersionKept || (err instanceof AppError && err.status === 404)) continue;
          await this.summarize(repo, report, policy, opts.actor);
          throw err;
        }
      }
    }
    if (!dryRun) await this.summarize(repo, report, policy, opts.actor);
    return this.total(report);
  }

  /** Every repository with a policy, one after another; for the schedule. A failing repository does not stop the others. */
  async runAll(actor = 'schedule'): Promise<CleanupReport[]> {
    const rows = await this.deps.db
      .select({ repo: repositories })
      .from(cleanupPolicies)
      .innerJoin(repositories, eq(cleanupPolicies.repositoryId, repositories.id));
    const reports: CleanupReport[] = [];
    for (const { repo } of rows) {
      try {
        reports.push(await this.run(repo, { actor: { username: actor } }));
      } catch (err) {
        this.deps.log.error('cleanup policy run failed', { repository: repo.name, err: err as Error });
      }
    }
    return reports;
  }

  private total(report: CleanupReport): CleanupReport {
    report.removed = report.versions.length;
    report.bytes = report.versions.reduce((n, v) => n + v.size, 0);
    return report;
  }

  private async summarize(repo: RepositoryRow, report: CleanupReport, policy: CleanupPolicyView, actor?: Actor): Promise<void> {
    this.total(report);
    if (report.removed === 0) return;
    await this.deps.audit.record({
      actor: actor?.username ?? CLEANUP_ACTOR,
      action: 'cleanup.run',
      repository: repo.name,
      details: {
        policy: { unusedDays: policy.unusedDays, keepPrereleases: policy.keepPrereleases, keepVersions: policy.keepVersions },
        removed: report.removed,
        bytes: report.bytes,
        versions: report.versions.slice(0, 100).map((v) => `${v.module}@${v.version}`),
      },
      clientAddress: actor?.clientAddress,
    });
  }

  private async versions(repo: RepositoryRow, module?: string): Promise<Map<string, CleanupVersion[]>> {
    const where = module
      ? and(eq(moduleVersions.repositoryId, repo.id), eq(moduleVersions.modulePath, module))
      : eq(moduleVersions.repositoryId, repo.id);
    const rows = await this.deps.db
      .select({
        module: moduleVersions.modulePath,
        version: moduleVersions.version,
        size: moduleVersions.zipSize,
        time: moduleVersions.time,
        cachedAt: moduleVersions.createdAt,
        lastDownloadedAt: moduleVersions.lastDownloadedAt,
      })
      .from(moduleVersions)
      .where(where);
    const out = new Map<string, CleanupVersion[]>();
    for (const r of rows) {
      const list = out.get(r.module) ?? [];
      list.push({ ...r, size: r.size ?? 0 });
      out.set(r.module, list);
    }
    return out;
  }
}
