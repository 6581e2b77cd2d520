/**
 * The `.info` JSON of the GOPROXY protocol (`{"Version","Time"}`), written and read in this one place:
 * hosted repositories write it, proxies check what an upstream sends, groups compare members' @latest,
 * and a hosted PUT of .info is compared with it.
 */
import { GoProtocolError } from './errors';
import { isCanonicalVersion, isPseudoVersion, pseudoVersionTime } from './version';

/** The .info text is not what the go command would accept; `message` completes "the .info …". */
export class InvalidInfoError extends GoProtocolError {}

export interface GoInfo {
  /** Canonical semantic version. */
  version: string;
  /** The Time field as sent, when present and valid (RFC 3339). */
  time?: string;
  /** The text parsed, unchanged: answers pass other fields (Origin) through as the upstream wrote them. */
  text: string;
}

/** `{"Version","Time"}` as the go command expects it; Time to the second in UTC, as public proxies write it. */
export function formatInfo(version: string, time: Date): string {
  return JSON.stringify({ Version: version, Time: time.toISOString().replace(/\.\d{3}Z$/, 'Z') });
}

export interface ParseInfoOptions {
  /** A PUT of .info may leave Version out (it is in the URL); an answer to the go command may not. Default false. */
  versionOptional?: boolean;
  /** Time is not checked (a PUT's Time is not kept: .info reports the upload time). Default false. */
  ignoreTime?: boolean;
}

const q = (s: string) => JSON.stringify(s);

/**
 * An .info text the go command would accept: a JSON object with a canonical Version and, if any,
 * a valid Time. A pseudo-version without a Time must carry a valid time of its own, since @latest
 * falls back to it (goproxy/version.ts selectLatest).
 */
export function parseInfo(text: string, opts: ParseInfoOptions = {}): GoInfo {
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch {
    throw new InvalidInfoError('info-json', 'is not JSON');
  }
  if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new InvalidInfoError('info-json', 'is not a JSON object');
  const { Version: version, Time: time } = info as { Version?: unknown; Time?: unknown };
  if (version === undefined && opts.versionOptional) return { version: '', text };
  if (typeof version !== 'string' || !isCanonicalVersion(version)) {
    throw new InvalidInfoError('info-version', `has no canonical Version (got ${q(String(version))})`);
  }
  if (opts.ignoreTime) return { version, text };
  if (time !== undefined && (typeof time !== 'string' || Number.isNaN(Date.parse(time)))) {
    throw new InvalidInfoError('info-time', `has an invalid Time ${q(String(time))}`);
  }
  if (time === undefined && isPseudoVersion(version)) {
    try {
      pseudoVersionTime(version);
    } catch {
      throw new InvalidInfoError('info-time', `has neither a Time nor a valid pseudo-version time (${version})`);
    }
  }
  return { version, time: time as string | undefined, text };
}
