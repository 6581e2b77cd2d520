import type { RepositoryRow } from '../db/schema';
import {
  AppError,
  BadUpstream,
  Forbidden,
  Gone,
  GroupTooDeep,
  isGone,
  NotFound,
  ServiceUnavailable,
  toAppError,
  Unauthorized,
  UpstreamRefused,
  UpstreamTimeout,
} from '../errors';
import { InvalidInfoError, parseInfo } from '../goproxy/info';
import { sumdbLookupModule } from '../goproxy/sumdb-record';
import { isCanonicalVersion, latestFromList, passThroughVersions, selectLatest } from '../goproxy/version';
import { warnOutage } from '../observability/outage-log';
import type { RepoDeps } from './deps';
import {
  absentUntil,
  type Expiring,
  type ExpiringFiles,
  type ExpiringReader,
  type FileKind,
  hasExpiringFiles,
  isExpiringReader,
  notFoundUntil,
  UNTIL_WRITTEN,
} from './expiring';
import { EVERY_MEMBER, EVERY_MEMBER_NOW, type MayReadMember, type MayReadMemberNow } from './member-access';
import { ownsPath, routeMembers } from './path-routing';
import type { ChecksumRelay, GoFile, GoRepository, GroupMembers, ModuleReader, SumdbAnswer } from './repository';

/**
 * How deep groups may nest. Cycles are refused when members are written, but two concurrent admin
 * edits could still make one; this bound turns such a loop into an error instead of a hung request.
 */
export const MAX_GROUP_DEPTH = 8;

/** A member that answered something other than "not found". */
interface Failure {
  member: string;
  error: AppError;
}

/** A member whose "not found" was a 410 (its version deleted, or its upstream's 410), with what it said. */
interface GoneFrom {
  member: string;
  message: string;
}

/** A member the caller may not read: skipped as if absent, but remembered so that the group never answers 404 for it. */
interface Denial {
  member: string;
  error: Unauthorized | Forbidden;
}

export function isDenial(err: unknown): err is Unauthorized | Forbidden {
  // An upstream's 403 reaching us through a proxy member is that member's answer, not a verdict on the caller.
  return (err instanceof Unauthorized || err instanceof Forbidden) && !(err instanceof UpstreamRefused);
}

/** A member's upstream refused the path (401/403): an answer, so it neither fails a merge nor counts as an outage. */
function isRefusal(f: Failure): boolean {
  return f.error instanceof UpstreamRefused;
}

/** A member's @latest answer, kept whole so the chosen member's .info text is returned unchanged. */
interface LatestAnswer {
  version: string;
  time?: string;
  text: string;
}

/**
 * "This member does not have it": NotFound, including a Gone and an upstream's 404 and 410 (UpstreamMissing), which
 * the go command treats alike; whether one said 410 only decides the group's own status (notFound).
 */
function isAbsent(err: unknown): boolean {
  return err instanceof NotFound;
}

/**
 * Until when a member's "not found" holds: as its maker said (a proxy's remembered 404: its row's expiry;
 * a cached answer: its own deadline); a hosted repository's plain one until a write to the module
 * (which invalidates); anything else (a fresh upstream 404, a fake) not at all.
 */
function absenceUntil(member: GoRepository, err: unknown): number {
  const until = notFoundUntil(err);
  if (until !== undefined) return until;
  const plain = (err as Error).constructor === NotFound || (err as Error).constructor === Gone;
  return member.row.type === 'hosted' && plain ? UNTIL_WRITTEN : 0;
}

/** A member's list or @latest with its deadline; a reader that cannot say holds until written only if hosted. */
async function memberLists<T>(member: GoRepository, kind: 'list' | 'latest', module: string): Promise<Expiring<T>> {
  const r = member.reader;
  if (isExpiringReader(r)) return (await (kind === 'list' ? r.listExpiring(module) : r.latestExpiring(module))) as Expiring<T>;
  const value = (await (kind === 'list' ? r.list(module) : r.latest(module))) as T;
  return { value, until: member.row.type === 'hosted' ? UNTIL_WRITTEN : 0 };
}

/** A member's version file with its deadline: a hosted version, or a proxy's stored one, holds until written or evicted. */
async function memberFile(member: GoRepository, kind: FileKind, module: string, version: string): Promise<Expiring<unknown>> {
  const r = member.reader;
  if (hasExpiringFiles(r)) return r.fileExpiring(kind, module, version);
  const value = await r[kind](module, version);
  const lasting = member.row.type === 'hosted' || (member.row.type === 'proxy' && isCanonicalVersion(version));
  return { value, until: lasting ? UNTIL_WRITTEN : 0 };
}

/**
 * One error for members that failed, naming each. A timeout stays 504, our own database or storage
 * being down stays 503 (with Retry-After), and a client error keeps its status; any other fault of a
 * member is a 502, since to the go command the group is a gateway.
 * Never a 404: that would send the go command on to the next GOPROXY entry (or direct) and hide an outage.
 */
function memberFailure(failures: Failure[]): AppError {
  const message = failures.map((f) => `member "${f.member}" failed: ${f.error.message}`).join('; ');
  const first = failures[0].error;
  if (first instanceof UpstreamTimeout) return new UpstreamTimeout(message);
  if (first instanceof ServiceUnavailable) return new ServiceUnavailable(message);
  if (first.status >= 400 && first.status < 500) return new AppError(first.status, first.code, message, first.headers);
  return new BadUpstream(message);
}

function parseLatest(text: string): LatestAnswer {
  try {
    const info = parseInfo(text);
    return { version: info.version, time: info.time, text };
  } catch (err) {
    if (err instanceof InvalidInfoError) throw new BadUpstream(`its @latest answer ${err.message}`);
    throw err;
  }
}

/**
 * The rows reached through a member list holding no group, each once and without the group itself, by list:
 * the repository cache hands out the same array until the list or a member changes. Null for a list with a
 * group in it (walked each time). The array is shared: callers only read it.
 */
const flatReaches = new WeakMap<RepositoryRow[], { of: number; rows: RepositoryRow[] | null }>();

function flatReach(members: RepositoryRow[], groupId: number): RepositoryRow[] | null {
  const known = flatReaches.get(members);
  if (known && known.of === groupId) return known.rows;
  let rows: RepositoryRow[] | null = null;
  if (!members.some((r) => r.type === 'group')) {
    const seen = new Set<number>([groupId]);
    rows = members.filter((r) => !seen.has(r.id) && seen.add(r.id));
  }
  flatReaches.set(members, { of: groupId, rows });
  return rows;
}

/**
 * A group: one GOPROXY endpoint over ordered members (hosted, proxy or other groups).
 *
 * - .info/.mod/.zip come from the first member, in order, that has the version. A member that fails
 *   is skipped like one that lacks it, because these files are immutable and checked against go.sum
 *   and the checksum database (and a later member could serve the version after a 404 just as well);
 *   the failure only shows when no member has the version.
 * - @v/list and @latest ask every member at once and merge. Here one failing member fails the whole
 *   answer (502/504 naming it), even when others answered: a partial list would let the go command
 *   resolve `@latest` or a version query to something else for as long as the outage lasts, silently
 *   and differently from before. Builds pinned by go.mod do not need list or @latest, so they go on.
 *
 * Group reads are member reads: a member's content reaches only callers who may read that member
 * (readingAs; nested groups pass the question down). A member the caller may not read is skipped as if
 * absent, yet when no readable member has the path the answer is 401 (anonymous) or 403 (known caller),
 * never 404: the unreadable member may hold it, and a 404 would send the go command on to the next
 * GOPROXY entry with a private module path. The answer is the same whether or not that member holds
 * the path, so it tells an outsider nothing about what is stored there.
 * Members are built per call from the current rows, so admin changes apply to the next request.
 */
export class GroupRepository implements GoRepository, ModuleReader, ExpiringReader, ExpiringFiles, GroupMembers, ChecksumRelay {
  readonly reader: ModuleReader = this;
  readonly checksums: ChecksumRelay = this;
  readonly members: GroupMembers = this;
  /** Names of the groups this one is being read through, outermost first; empty when asked directly. */
  private chain: string[] = [];
  mayRead: MayReadMember = EVERY_MEMBER;
  mayReadNow: MayReadMemberNow | undefined = EVERY_MEMBER_NOW;

  constructor(
    readonly row: RepositoryRow,
    private readonly deps: RepoDeps,
  ) {}

  /** Called by the parent group on a member group, so that depth is counted across instantiate(). */
  nestedIn(chain: string[]): this {
    this.chain = chain;
    this.reached = undefined;
    this.reachedNow = undefined;
    return this;
  }

  /** Reads on behalf of a caller: members it may not read are skipped (see the class comment). */
  readingAs(mayRead: MayReadMember, mayReadNow?: MayReadMemberNow): this {
    this.mayRead = mayRead;
    this.mayReadNow = mayReadNow;
    return this;
  }

  /** True when every repository an answer could come from reads anonymously: only then may a shared cache keep it. */
  async everyMemberAnonymousRead(): Promise<boolean> {
    return (await this.leaves()).every((r) => r.anonymousRead);
  }

  everyMemberAnonymousReadNow(): boolean | undefined {
    return this.reachableNow()?.every((r) => r.type === 'group' || r.anonymousRead);
  }

  private ownChain(): string[] {
    const chain = [...this.chain, this.row.name];
    if (chain.length > MAX_GROUP_DEPTH) throw new GroupTooDeep(chain, MAX_GROUP_DEPTH);
    return chain;
  }

  /**
   * The members to ask for `module` (path-routing.ts: only its owners when a reachable hosted repository
   * owns it), split into those the caller may read, in order, and those it may not. Routing comes first,
   * so an owner the caller may not read is a denial, never a reason to ask a proxy instead.
   */
  private async memberRepos(module: string): Promise<{ readable: GoRepository[]; denied: Denial[] }> {
    const chain = this.ownChain();
    const rows = await routeMembers(await this.deps.repositories.memberRows(this.row.id), module, (g) =>
      this.leavesOf(g, [...chain, g.name]),
    );
    const { readable: rowsRead, denied } = await this.readableOf(rows);
    const readable = rowsRead.map((r) => {
      const member = this.deps.instantiate(r);
      member.members?.nestedIn(chain);
      member.members?.readingAs(this.mayRead, this.mayReadNow);
      return member;
    });
    return { readable, denied };
  }

  /** Non-group repositories reachable through the members, depth-first in member order, each once. */
  private async leaves(): Promise<RepositoryRow[]> {
    return (await this.reachable()).filter((r) => r.type !== 'group');
  }

  /** Non-group repositories reachable through `root`'s members (root a group, `chain` the path to it). */
  private async leavesOf(root: RepositoryRow, chain: string[]): Promise<RepositoryRow[]> {
    return (await this.reachableFrom(root, chain)).filter((r) => r.type !== 'group');
  }

  /** Every repository reachable through the members (member groups too), depth-first in member order, each once. */
  reachable(): Promise<RepositoryRow[]> {
    // An instance serves one request (the class comment): its rows are walked once, however many of the
    // request's questions need them (anonymous read of every member, the caller's audience, the sumdb relay).
    this.reached ??= this.reachableFrom(this.row, this.ownChain());
    return this.reached;
  }

  private reached: Promise<RepositoryRow[]> | undefined;

  /**
   * reachable() from memory: the same rows in the same order when every group's member rows are held by the
   * repository cache, else undefined (also for a chain too deep: reachable() throws that).
   */
  reachableNow(): RepositoryRow[] | undefined {
    // Walked once per instance, as reachable(): a warm answer asks it twice (anonymous read, the audience).
    if (this.reachedNow === undefined) this.reachedNow = this.walkNow() ?? null;
    return this.reachedNow ?? undefined;
  }

  private reachedNow: RepositoryRow[] | null | undefined;

  private walkNow(): RepositoryRow[] | undefined {
    // A group of no groups (the usual one) reaches its member list itself: walked once per list, not per request.
    const members = this.deps.repositories.memberRowsNow(this.row.id);
    if (members && this.chain.length < MAX_GROUP_DEPTH) {
      const flat = flatReach(members, this.row.id);
      if (flat) return flat;
    }
    const out: RepositoryRow[] = [];
    const seen = new Set<number>([this.row.id]);
    const visit = (group: RepositoryRow, depth: number): boolean => {
      if (depth > MAX_GROUP_DEPTH) return false;
      const rows = this.deps.repositories.memberRowsNow(group.id);
      if (!rows) return false;
      for (const row of rows) {
        if (seen.has(row.id)) continue;
        seen.add(row.id);
        out.push(row);
        if (row.type === 'group' && !visit(row, depth + 1)) return false;
      }
      return true;
    };
    return visit(this.row, this.chain.length + 1) ? out : undefined;
  }

  private async reachableFrom(root: RepositoryRow, chain: string[]): Promise<RepositoryRow[]> {
    const out: RepositoryRow[] = [];
    const seen = new Set<number>([root.id]);
    const visit = async (group: RepositoryRow, chain: string[]): Promise<void> => {
      if (chain.length > MAX_GROUP_DEPTH) throw new GroupTooDeep(chain, MAX_GROUP_DEPTH);
      for (const row of await this.deps.repositories.memberRows(group.id)) {
        if (seen.has(row.id)) continue;
        seen.add(row.id);
        out.push(row);
        if (row.type === 'group') await visit(row, [...chain, row.name]);
      }
    };
    await visit(root, chain);
    return out;
  }

  private failure(member: GoRepository, err: unknown): Failure {
    // A loop in the configuration is the group's own fault, not a member outage: let it through as it is.
    if (err instanceof GroupTooDeep) throw err;
    const failure = { member: member.row.name, error: toAppError(err) };
    if (!isRefusal(failure)) warnOutage(this.deps.log, member.row.name, 'group member failed', { group: this.row.name, err });
    return failure;
  }

  /**
   * Nothing readable had it, but some members were not readable: 401 when any of them would open with
   * credentials (the go command then asks its credential helpers), else 403.
   */
  private denial(what: string, denied: Denial[]): AppError {
    const names = denied.map((d) => d.member).join(', ');
    if (denied.some((d) => d.error instanceof Unauthorized)) {
      return new Unauthorized(`${what}: group "${this.row.name}" needs credentials to look in member(s) ${names}`);
    }
    return new Forbidden(`${what} not found in the members of group "${this.row.name}" you may read; you may not read ${names}`);
  }

  /** What no member answered: an outage first, then members the caller may not read, then not found (or gone). */
  private unanswered(what: string, members: GoRepository[], failures: Failure[], denied: Denial[], gone: GoneFrom[]): AppError {
    const outages = failures.filter((f) => !isRefusal(f));
    if (outages.length) return memberFailure(outages);
    if (denied.length) return this.denial(what, denied);
    // The upstream's reason, passed on as the 403 the go command would have had from it directly.
    if (failures.length) return new UpstreamRefused(failures.map((f) => `member "${f.member}": ${f.error.message}`).join('; '));
    return this.notFound(what, members, gone);
  }

  /**
   * A 404, or a 410 when a member said the version was here and is gone: the group passes that on as the
   * member would have answered it asked directly, whatever the others said (a 404 from them means only
   * that they never had it), so every kind of repository answers a gone version alike.
   */
  private notFound(what: string, members: GoRepository[], gone: GoneFrom[]): NotFound {
    if (members.length === 0) return new NotFound(`${what} not found: group "${this.row.name}" has no members`);
    const message = `${what} not found in any member of group "${this.row.name}" (${members.map((m) => m.row.name).join(', ')})`;
    if (gone.length === 0) return new NotFound(message);
    return new Gone(`${message}; gone from ${gone.map((g) => `member "${g.member}": ${g.message}`).join('; ')}`);
  }

  /** A "not found" holds as long as every member's absence; other errors are not remembered at all. */
  private absent(err: AppError, until: number): AppError {
    return err instanceof NotFound ? absentUntil(err, until) : err;
  }

  /**
   * The first member's answer, in order, skipping members that lack it or fail. It holds as long as the
   * answer and every absence before it (a member that failed could answer next time: not at all).
   */
  private async first<T>(
    module: string,
    what: string,
    read: (m: GoRepository, last: boolean) => Promise<Expiring<T>>,
  ): Promise<Expiring<T>> {
    const { readable: members, denied } = await this.memberRepos(module);
    const failures: Failure[] = [];
    const gone: GoneFrom[] = [];
    let until = UNTIL_WRITTEN;
    for (const [i, member] of members.entries()) {
      try {
        const got = await read(member, i === members.length - 1);
        return { value: got.value, until: Math.min(until, got.until, failures.length ? 0 : UNTIL_WRITTEN) };
      } catch (err) {
        // A nested group that found nothing readable for this caller said 401/403: that is a denial too.
        if (isDenial(err)) denied.push({ member: member.row.name, error: err });
        else if (isAbsent(err)) {
          until = Math.min(until, absenceUntil(member, err));
          if (isGone(err)) gone.push({ member: member.row.name, message: (err as Error).message });
        } else failures.push(this.failure(member, err));
      }
    }
    throw this.absent(this.unanswered(what, members, failures, denied, gone), until);
  }

  /** Every member's answer, asked concurrently, in member order; any failure fails the whole. Holds as long as every part. */
  private async all<T>(module: string, what: string, read: (m: GoRepository) => Promise<Expiring<T>>): Promise<Expiring<T[]>> {
    const { readable: members, denied } = await this.memberRepos(module);
    const outcomes = await Promise.all(
      members.map((member) =>
        read(member).then(
          (value) => ({ member, ok: true as const, value }),
          (err: unknown) => ({ member, ok: false as const, err }),
        ),
      ),
    );
    const answers: T[] = [];
    const failures: Failure[] = [];
    const gone: GoneFrom[] = [];
    let until = UNTIL_WRITTEN;
    for (const o of outcomes) {
      if (o.ok) {
        answers.push(o.value.value);
        until = Math.min(until, o.value.until);
      } else if (isDenial(o.err)) denied.push({ member: o.member.row.name, error: o.err });
      else if (isAbsent(o.err)) {
        until = Math.min(until, absenceUntil(o.member, o.err));
        if (isGone(o.err)) gone.push({ member: o.member.row.name, message: (o.err as Error).message });
      } else failures.push(this.failure(o.member, o.err));
    }
    // Members the caller may not read, or whose upstream refuses the path, do not fail a merge: an outage does.
    if (failures.some((f) => !isRefusal(f)) || answers.length === 0)
      throw this.absent(this.unanswered(what, members, failures, denied, gone), until);
    // A merge without a refusing member's part holds no longer than this request: the refusal may lift.
    return { value: answers, until: failures.length ? 0 : until };
  }

  async list(module: string): Promise<string[]> {
    return (await this.listExpiring(module)).value;
  }

  async latest(module: string): Promise<string> {
    return (await this.latestExpiring(module)).value;
  }

  async listExpiring(module: string): Promise<Expiring<string[]>> {
    const lists = await this.all(module, module, (m) => memberLists<string[]>(m, 'list', module));
    // Members' lists as they give them: a proxy member's pseudo-versions are what an untagged module has.
    return { value: passThroughVersions(lists.value.flat()), until: lists.until };
  }

  async latestExpiring(module: string): Promise<Expiring<string>> {
    const answers = await this.all(module, `${module}@latest`, (m) => this.memberLatest(m, module));
    // Answers are in member order and selectLatest keeps the first of equals, so ties go to the earlier member.
    return { value: selectLatest(answers.value)!.text, until: answers.until };
  }

  /**
   * A member's @latest; when it has none (a 404) but lists versions, the one the go command would take from
   * that list, as it does itself when an upstream has no @latest: otherwise a member's higher version would
   * be left out of the group's choice.
   */
  private async memberLatest(member: GoRepository, module: string): Promise<Expiring<LatestAnswer>> {
    try {
      const got = await memberLists<string>(member, 'latest', module);
      return { value: parseLatest(got.value), until: got.until };
    } catch (err) {
      if (!isAbsent(err)) throw err;
      // Holds as long as the missing @latest, the list and the chosen version's .info.
      const missing = absenceUntil(member, err);
      const listed = await memberLists<string[]>(member, 'list', module).catch((e: unknown) => {
        if (isAbsent(e)) throw absentUntil(err as NotFound, Math.min(missing, absenceUntil(member, e)));
        throw e;
      });
      // As the go command picks: a pseudo-version whose time cannot be read is skipped, not a failure.
      const best = latestFromList(listed.value.map((version) => ({ version })));
      if (!best) throw absentUntil(err as NotFound, Math.min(missing, listed.until));
      const info = await memberFile(member, 'info', module, best);
      return { value: parseLatest(info.value as string), until: Math.min(missing, listed.until, info.until) };
    }
  }

  fileExpiring(kind: FileKind, module: string, version: string): Promise<Expiring<unknown>> {
    return this.first(module, `${module}@${version}`, async (m, last) => {
      const got = await memberFile(m, kind, module, version);
      const file = got.value as GoFile | string;
      // A fill streamed to the client cannot fall through to the next member once its 200 is out; so only the
      // last member streams one, and an earlier member's fill is waited for (a bad zip there is a failure, skipped).
      if (last || typeof file === 'string' || !file.arriving) return got;
      return { value: await file.arriving.stored(), until: 0 };
    });
  }

  async info(module: string, version: string): Promise<string> {
    return (await this.fileExpiring('info', module, version)).value as string;
  }

  async mod(module: string, version: string): Promise<GoFile> {
    return (await this.fileExpiring('mod', module, version)).value as GoFile;
  }

  async zip(module: string, version: string): Promise<GoFile> {
    return (await this.fileExpiring('zip', module, version)).value as GoFile;
  }

  /** Hosted repositories reachable through the members, in order: where an upload meant for this group belongs. */
  async hostedMembers(): Promise<string[]> {
    return (await this.leaves()).filter((r) => r.type === 'hosted').map((r) => r.name);
  }

  /**
   * Through the first proxy member the caller may read, depth-first: the one that reaches the public
   * checksum database. A lookup of a path a hosted member owns is never relayed (the public database
   * would hear a private path); as everywhere in a group, what the caller may not read tells it nothing:
   * an owner it may read is named with its namespaces, one it may not is a 401/403 naming no member.
   */
  async sumdb(name: string, rest: string): Promise<SumdbAnswer> {
    const leaves = await this.leaves();
    const looked = sumdbLookupModule(rest);
    // A lookup names the module: an owned one is private, and asking the public database would tell it the path.
    const owners = looked === undefined ? [] : leaves.filter((r) => ownsPath(r, looked));
    if (looked !== undefined && owners.length > 0) throw await this.privateLookup(name, looked, owners);
    const { readable } = await this.readableOf(leaves.filter((r) => r.type === 'proxy'));
    // One answer whether the group has no proxy member or only ones the caller may not read.
    if (readable.length === 0) throw new NotFound(`group "${this.row.name}" relays no checksum database through the members you may read`);
    const member = this.deps.instantiate(readable[0]);
    if (!member.checksums) throw new NotFound(`member "${readable[0].name}" of group "${this.row.name}" relays no checksum database`);
    try {
      return await member.checksums.sumdb(name, rest);
    } catch (err) {
      // A 404 here means "checksum database not proxied": the go command then asks it directly.
      if (isAbsent(err)) throw err;
      throw memberFailure([this.failure(member, err)]);
    }
  }

  /** The answer to a checksum lookup of a path `owners` own. */
  private async privateLookup(name: string, module: string, owners: RepositoryRow[]): Promise<AppError> {
    const { readable, denied } = await this.readableOf(owners);
    if (readable.length > 0) {
      const owner = readable[0];
      return new NotFound(
        `${module} is a private module of repository "${owner.name}": group "${this.row.name}" does not look it up in the checksum database ${name}; set GONOSUMDB (or GOPRIVATE) to ${owner.namespaces.join(',')}`,
      );
    }
    // No member named, no namespaces: 401 when credentials could open an owner (the go command then sends them).
    if (denied.some((d) => d.error instanceof Unauthorized)) {
      return new Unauthorized(`group "${this.row.name}" needs credentials to answer a checksum lookup of ${module}`);
    }
    return new Forbidden(
      `group "${this.row.name}" does not look ${module} up in the checksum database ${name} for you; set GONOSUMDB (or GOPRIVATE) to your private module paths`,
    );
  }

  /** `rows`, in order, split by whether the caller may read each; any other failure of the question is thrown. */
  private async readableOf(rows: RepositoryRow[]): Promise<{ readable: RepositoryRow[]; denied: Denial[] }> {
    const verdicts = await Promise.all(
      rows.map((r) =>
        this.mayRead(r).then(
          () => null,
          (err: unknown) => err,
        ),
      ),
    );
    const readable: RepositoryRow[] = [];
    const denied: Denial[] = [];
    for (const [i, r] of rows.entries()) {
      const err = verdicts[i];
      if (isDenial(err)) denied.push({ member: r.name, error: err });
      else if (err) throw err;
      else readable.push(r);
    }
    return { readable, denied };
  }
}
