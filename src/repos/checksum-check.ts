import { BadUpstream, NotFound } from '../errors';
import { GoProtocolError } from '../goproxy/errors';
import { matchPathPatterns, splitPathPatterns } from '../goproxy/path-patterns';
import { parseLookup, SumdbError, type SumdbRecord, sumdbLookupPath } from '../goproxy/sumdb-record';
import { verifyLookup } from '../goproxy/sumdb-verify';
import type { Logger } from '../log';
import type { ChecksumRefusal } from '../observability/metrics';
import type { ResolvedGosumdb } from './gosumdb';
import { type AnswerPolicy, IMMUTABLE_TTL_SECONDS, type ProxyMetadataCache } from './proxy-cache';
import { UpstreamClient } from './upstream';

const MAX_SUMDB_BYTES = 1 << 20;
const HASH_SIZE = 32;
const RELAYED_VERDICT_MS = 60_000;
const q = (s: string) => JSON.stringify(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

export interface ChecksumCheckConfig {
  gosumdb: ResolvedGosumdb;
  repository: string;
  /** The repository's settings.checksumVerification and settings.noSumdbPatterns. */
  verification?: 'sumdb' | 'off';
  noSumdbPatterns?: string;
  /** The repository's relay of the upstream's /sumdb/ (cached answers); throws NotFound for a 404/410. */
  relay: (name: string, rest: string) => Promise<Uint8Array>;
  cache: ProxyMetadataCache;
  policy: AnswerPolicy;
  log: Logger;
  fetch: typeof fetch;
  /** Told of each refusal that is a verdict on the file (metrics); an unusable answer is the upstream's failure, not counted. */
  refused: (reason: ChecksumRefusal) => void;
}

/**
 * The check of a proxy repository's fills against the checksum database: a fetched zip's or
 * go.mod's `h1:` must be the database's record for that version. The record is read as the go
 * command reads it through a proxy: the upstream's /sumdb/{name}/ relay when the upstream serves
 * it, else the database's own URL (GOSUMDB's URL, else https://{name}). With a verifier key the
 * record's signed tree head and inclusion proof are verified from the same source's tiles.
 */
export class ChecksumCheck {
  private direct?: UpstreamClient;
  private relayedVerdict?: { value: boolean; until: number };

  constructor(private readonly c: ChecksumCheckConfig) {}

  /** Whether `module`'s files are checked at all (the repository's setting and skip patterns). */
  applies(module: string): boolean {
    if (this.c.verification === 'off') return false;
    return !(this.c.noSumdbPatterns && matchPathPatterns(splitPathPatterns(this.c.noSumdbPatterns), module));
  }

  /**
   * Starts reading the database's record of a version, so that it arrives while the file downloads; the
   * later verify() finds it cached (or joins the read in flight). Failures here are verify()'s to report.
   */
  prefetch(module: string, version: string): void {
    if (this.applies(module)) this.read(sumdbLookupPath(module, version)).catch(() => {});
  }

  /**
   * Throws BadUpstream unless `got` is the database's record: a mismatch names module, version and
   * both hashes and is logged as a security event. The cached lookup (and tiles read) are dropped on
   * any refusal, so a request after the upstream is repaired asks again.
   */
  async verify(module: string, version: string, got: SumdbRecord, url: string): Promise<void> {
    if (!this.applies(module)) return;
    const { gosumdb: db } = this.c;
    const rest = sumdbLookupPath(module, version);
    const read: string[] = [rest];
    let want: SumdbRecord;
    try {
      const answer = decode(await this.read(rest));
      if (db.verifier)
        await verifyLookup(answer, db.verifier, async (path) => {
          read.push(path);
          return this.tile(path);
        });
      want = parseLookup(answer, module, version);
    } catch (err) {
      if (err instanceof NotFound && read.length === 1) {
        this.c.refused('unknown_module');
        throw new BadUpstream(
          `${module}@${version} is not in the checksum database ${db.name} (its lookup was not found), so repository ${q(this.c.repository)} refuses it; a private module belongs in settings.noSumdbPatterns`,
        );
      }
      if (!(err instanceof GoProtocolError) && !(err instanceof NotFound)) throw err;
      await this.forget(read);
      const lying = err instanceof SumdbError && (err.rule === 'sumdb-signature' || err.rule === 'sumdb-proof');
      // A forged record or tree is what a tampering upstream serves alongside a changed file: counted as a mismatch.
      if (lying) this.c.refused('mismatch');
      if (lying)
        this.c.log.error('checksum database answer failed verification with its key; nothing was stored', {
          security: true,
          repository: this.c.repository,
          module,
          version,
          sumdb: db.name,
          reason: err.message,
        });
      throw new BadUpstream(`the checksum database lookup of ${module}@${version} in ${db.name} is unusable: ${err.message}; not stored`);
    }
    const [what, served, recorded] = got.h1 ? ['zip', got.h1, want.h1] : ['go.mod', got.goModH1, want.goModH1];
    if (served === recorded) return;
    this.c.refused('mismatch');
    await this.forget(read);
    this.c.log.error('checksum mismatch: a proxied file differs from the checksum database; nothing was stored', {
      security: true,
      repository: this.c.repository,
      module,
      version,
      file: what,
      upstream: url,
      served,
      recorded: recorded ?? null,
      sumdb: db.name,
    });
    throw new BadUpstream(
      `checksum mismatch for ${module}@${version} ${what}: upstream served ${served}, checksum database ${db.name} records ${recorded ?? 'nothing'}; not stored`,
    );
  }

  /**
   * Whether the upstream relays this database: its /sumdb/{name}/supported answers 200 (a 404/410 says no).
   * The verdict is kept a minute in memory (every fill asks, and each asking was a database read); an
   * older one is still used while it is asked again in the background, so no fill waits for the question
   * but the first.
   */
  private relayed(): boolean | Promise<boolean> {
    const known = this.relayedVerdict;
    if (known && known.until <= Date.now() && !this.asking) this.ask().catch(() => {});
    return known ? known.value : this.ask();
  }

  private asking?: Promise<boolean>;

  private ask(): Promise<boolean> {
    this.asking ??= (async () => {
      let value: boolean;
      try {
        await this.c.relay(this.c.gosumdb.name, 'supported');
        value = true;
      } catch (err) {
        if (!(err instanceof NotFound)) throw err;
        value = false;
      }
      this.relayedVerdict = { value, until: Date.now() + RELAYED_VERDICT_MS };
      return value;
    })().finally(() => (this.asking = undefined));
    return this.asking;
  }

  private async read(rest: string): Promise<Uint8Array> {
    const { name } = this.c.gosumdb;
    const relayed = this.relayed();
    if (relayed === true) return this.c.relay(name, rest);
    if (relayed !== false) {
      // Not known yet: the relay is asked for the record beside the question whether it relays at all.
      const relayedRead = this.c.relay(name, rest);
      relayedRead.catch(() => {});
      if (await relayed) return relayedRead;
    }
    this.direct ??= new UpstreamClient({
      // The database's own host is GOSUMDB's name: the go command's rule, never a name written here.
      baseUrl: this.c.gosumdb.url ?? `https://${name}`,
      fetch: this.c.fetch,
    });
    const direct = this.direct;
    const got = await this.c.cache.answer(directKey(name, rest), { ...this.c.policy, ttlSeconds: IMMUTABLE_TTL_SECONDS }, (signal) =>
      direct.bytes(rest, signal, MAX_SUMDB_BYTES),
    );
    return got.body;
  }

  /** A hash tile; a partial one the source no longer serves is cut from the full tile, as the go command does. */
  private async tile(path: string): Promise<Uint8Array> {
    try {
      return await this.read(path);
    } catch (err) {
      const partial = /^(.*)\.p\/([0-9]+)$/.exec(path);
      if (!(err instanceof NotFound) || !partial) throw err;
      const full = await this.read(partial[1]);
      return full.subarray(0, Number(partial[2]) * HASH_SIZE);
    }
  }

  private async forget(rests: string[]): Promise<void> {
    const { name } = this.c.gosumdb;
    for (const rest of rests) {
      await this.c.cache.delete(`sumdb:${name}/${rest}`);
      await this.c.cache.delete(directKey(name, rest));
    }
  }
}

function directKey(name: string, rest: string): string {
  return `sumdb-direct:${name}/${rest}`;
}
