import { type GoSumdb, parseGosumdb, SumdbError } from '../goproxy/sumdb-record';
import { parseVerifierKey, type VerifierKey } from '../goproxy/sumdb-verify';

/** A checksum database setting with its verifier key parsed, when it names one. */
export interface ResolvedGosumdb extends GoSumdb {
  /** Undefined: the value gave the bare name (as `go env GOSUMDB` does for its default), so records are checked as served. */
  verifier?: VerifierKey;
}

function withVerifier(db: GoSumdb | undefined): ResolvedGosumdb | undefined {
  return db?.key ? { ...db, verifier: parseVerifierKey(db.key) } : db;
}

/**
 * A proxy repository's own settings.gosumdb (GOSUMDB syntax), parsed with its verifier key; throws SumdbError
 * for a value the go command would refuse, or one that names no database ("off" is checksumVerification's).
 */
export function repositoryGosumdb(value: string): ResolvedGosumdb {
  const db = withVerifier(parseGosumdb(value));
  if (!db) throw new SumdbError('gosumdb-syntax', 'names no checksum database (to store fills unchecked, set checksumVerification "off")');
  return db;
}

let goCommandDefault: { value: ResolvedGosumdb | undefined } | undefined;

/**
 * The checksum database proxy repositories verify against: `setting` (ORBITREPO_GOSUMDB, GOSUMDB
 * syntax, "off" for none), else the go command's (`go env GOSUMDB`, asked once per process). Its
 * default name is a registry host, which this project never writes; without Go installed it is
 * unknown, and ORBITREPO_GOSUMDB must name a database for proxy repositories to verify.
 * The go command prints its default database by bare name, without the verifier key it knows
 * built in; so the signed tree head and inclusion proofs are checked only when a key is given
 * (`name+hash+key`), and otherwise each record is compared as served.
 */
export function resolveGosumdb(setting: string | undefined): ResolvedGosumdb | undefined {
  if (setting !== undefined) {
    try {
      return withVerifier(parseGosumdb(setting));
    } catch (err) {
      throw new Error(`ORBITREPO_GOSUMDB: ${(err as Error).message}`);
    }
  }
  if (!goCommandDefault) {
    let value: ResolvedGosumdb | undefined;
    try {
      const run = Bun.spawnSync(['go', 'env', 'GOSUMDB'], { stdout: 'pipe', stderr: 'ignore' });
      if (run.exitCode === 0) value = withVerifier(parseGosumdb(run.stdout.toString()));
    } catch {
      value = undefined; // no go command, or a value it would refuse too
    }
    goCommandDefault = { value };
  }
  return goCommandDefault.value;
}
