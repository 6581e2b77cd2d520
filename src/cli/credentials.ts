/**
 * Where the publisher finds credentials for the server: ORBITREPO_TOKEN first
 * (Basic with ORBITREPO_USER, else a Bearer token), then the .netrc entry the
 * go command itself would use for the same server, so one .netrc serves both.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface NetrcEntry {
  machine: string;
  login: string;
  password: string;
}

/** The go command's .netrc reading (cmd/go/internal/auth/netrc.go): machine entries up to a "default" line; macros skipped. */
export function parseNetrc(text: string): NetrcEntry[] {
  const out: NetrcEntry[] = [];
  let l: NetrcEntry = { machine: '', login: '', password: '' };
  let inMacro = false;
  for (const line of text.split('\n')) {
    if (inMacro) {
      if (line === '') inMacro = false;
      continue;
    }
    const f = line.split(/\s+/).filter((x) => x !== '');
    let i = 0;
    for (; i < f.length - 1; i += 2) {
      if (f[i] === 'machine') l = { machine: f[i + 1], login: '', password: '' };
      else if (f[i] === 'login') l.login = f[i + 1];
      else if (f[i] === 'password') l.password = f[i + 1];
      else if (f[i] === 'macdef') inMacro = true;
      if (l.machine && l.login && l.password) {
        out.push(l);
        l = { machine: '', login: '', password: '' };
      }
    }
    if (i < f.length && f[i] === 'default') break;
  }
  return out;
}

/**
 * The entry for a URL: the go command matches "host[:port]" or a longer
 * "host[:port]/path" prefix of the URL; curl matches the bare host name. The
 * first two are tried first, then curl's, so either kind of .netrc works.
 */
export function netrcEntryFor(entries: NetrcEntry[], url: URL): NetrcEntry | undefined {
  const target = `${url.host}${url.pathname}`.replace(/\/+$/, '');
  const prefixes = entries.filter((e) => target === e.machine || target.startsWith(`${e.machine.replace(/\/+$/, '')}/`));
  prefixes.sort((a, b) => b.machine.length - a.machine.length);
  return prefixes[0] ?? entries.find((e) => e.machine === url.hostname);
}

export interface Credential {
  /** The Authorization header value. */
  header: string;
  /** Where it came from, for messages (never the secret). */
  source: string;
}

export function findCredential(url: URL, env: Record<string, string | undefined>): Credential | null {
  const token = env.ORBITREPO_TOKEN;
  if (token) {
    if (env.ORBITREPO_USER) {
      return { header: `Basic ${basic(env.ORBITREPO_USER, token)}`, source: 'ORBITREPO_USER and ORBITREPO_TOKEN' };
    }
    return { header: `Bearer ${token}`, source: 'ORBITREPO_TOKEN (as a Bearer token)' };
  }
  const file = env.NETRC || join(env.HOME || homedir(), '.netrc');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const e = netrcEntryFor(parseNetrc(text), url);
  return e ? { header: `Basic ${basic(e.login, e.password)}`, source: `${file} (machine ${e.machine})` } : null;
}

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');
