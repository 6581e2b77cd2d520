/**
 * Running the real go command in tests, isolated from the machine: its own
 * GOPATH, module cache and HOME under a temp dir, no go env file,
 * no toolchain switching, no telemetry, no checksum database, and GOPROXY=off
 * unless a test names a (loopback) proxy — so a test can never reach the
 * internet by accident. Only the build cache is shared (see sharedGoCache).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let goCache: string | undefined;

/**
 * One build cache for every go environment of the run, and of later runs with the same go: a fresh
 * one per test made every `go build` compile the standard library again (a minute and more on a busy
 * machine). Sharing it isolates nothing away that tests rely on: the build cache is content-addressed,
 * holds no modules, and the go command keeps it safe for concurrent processes. Keyed by user and go
 * version so another user's or another go's directory is never touched.
 */
export function sharedGoCache(): string {
  if (goCache) return goCache;
  const version = goAvailable()
    ? Bun.spawnSync(['go', 'env', 'GOVERSION'], { env: { PATH: process.env.PATH ?? '', GOENV: 'off', GOTOOLCHAIN: 'local' } })
        .stdout.toString()
        .trim()
        .replace(/[^\w.-]/g, '_')
    : '';
  goCache = join(tmpdir(), `orbit-gocache-${process.getuid?.() ?? 'user'}-${version || 'unknown'}`);
  mkdirSync(goCache, { recursive: true });
  return goCache;
}

export interface GoEnvOptions {
  /** GOPROXY value; unset means "off". */
  goproxy?: string;
  /** GOSUMDB value; unset means "off". */
  gosumdb?: string;
  /** GOFLAGS; unset means "-mod=mod -modcacherw" (a writable cache is what lets cleanup delete it). */
  goflags?: string;
  /** More variables, applied last. */
  extra?: Record<string, string>;
}

export interface GoEnv {
  /** The complete environment to pass to runGo. */
  env: Record<string, string>;
  root: string;
  gopath: string;
  gomodcache: string;
  /** A scratch directory (with no go.mod) to run commands in. */
  work: string;
  cleanup(): Promise<void>;
}

export async function makeGoEnv(opts: GoEnvOptions = {}): Promise<GoEnv> {
  const root = await mkdtemp(join(tmpdir(), 'orbit-go-'));
  const gopath = join(root, 'gopath');
  const gomodcache = join(gopath, 'pkg', 'mod');
  const work = join(root, 'work');
  await Bun.write(join(work, '.keep'), '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/go/bin:/usr/bin:/bin',
    HOME: join(root, 'home'),
    TMPDIR: root,
    GOPATH: gopath,
    GOMODCACHE: gomodcache,
    GOCACHE: sharedGoCache(),
    GOENV: 'off',
    GOTOOLCHAIN: 'local',
    GOTELEMETRY: 'off',
    GOPROXY: opts.goproxy ?? 'off',
    GOSUMDB: opts.gosumdb ?? 'off',
    GONOSUMDB: '',
    GOPRIVATE: '',
    GONOPROXY: '',
    GOINSECURE: '',
    GOFLAGS: opts.goflags ?? '-mod=mod -modcacherw',
    GIT_TERMINAL_PROMPT: '0',
    CGO_ENABLED: '0',
    ...opts.extra,
  };
  return {
    env,
    root,
    gopath,
    gomodcache,
    work,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export interface GoResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunGoOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Kill the command after this long; unset means 60 s. */
  timeoutMs?: number;
}

export async function runGo(args: string[], opts: RunGoOptions): Promise<GoResult> {
  const proc = Bun.spawn(['go', ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: 'ignore',
  });
  const timer = setTimeout(() => proc.kill(), opts.timeoutMs ?? 60_000);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a go command is on PATH, for tests that skip (loudly) without one. */
export function goAvailable(): boolean {
  return Bun.which('go') !== null;
}

/** `go env NAME` as this machine's own go command sees it (its environment and go env file), for the one live test. */
export async function machineGoEnv(name: string): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const r = await runGo(['env', name], { env });
  return r.stdout.trim();
}

/** `go mod download -json` prints one indented JSON object per module; parse them all. */
export function parseJsonStream<T = Record<string, unknown>>(out: string): T[] {
  return out
    .split(/^}\n?/m)
    .map((s) => s.trim())
    .filter((s) => s.startsWith('{'))
    .map((s) => JSON.parse(s + '}') as T);
}

/** The fields of `go mod download -json` output this project cares about. */
export interface GoModDownload {
  Path: string;
  Version: string;
  Error?: string;
  Info?: string;
  GoMod?: string;
  Zip?: string;
  Dir?: string;
  Sum?: string;
  GoModSum?: string;
}

/**
 * The go command's default checksum database as a GOSUMDB value with its verifier key
 * (`name+hash+key`): the name from `go env GOSUMDB`, the key from the line the Go distribution on
 * this machine keeps in $(go env GOROOT)/src/cmd/go/internal/modfetch/key.go. Undefined without Go.
 */
export function goDefaultSumdbKey(): string | undefined {
  if (!goAvailable()) return undefined;
  const env = { PATH: process.env.PATH ?? '', GOENV: 'off', GOTOOLCHAIN: 'local', HOME: process.env.HOME ?? '/' };
  const [name, goroot] = Bun.spawnSync(['go', 'env', 'GOSUMDB', 'GOROOT'], { env }).stdout.toString().trim().split('\n');
  if (!name || !goroot) return undefined;
  let source: string;
  try {
    source = readFileSync(join(goroot, 'src/cmd/go/internal/modfetch/key.go'), 'utf8');
  } catch {
    return undefined;
  }
  const quoted = JSON.stringify(name);
  const line = source.split('\n').find((l) => l.trim().startsWith(`${quoted}:`));
  const key = line ? /:\s*"([^"]+)"/.exec(line)?.[1] : undefined;
  return key?.startsWith(`${name}+`) ? key : undefined;
}

/** The first entry of `go env GOPROXY` when it is a URL that answers from here, else null with the reason. */
export async function liveUpstream(): Promise<{ url: string; sumdb: string } | { skip: string }> {
  if (!goAvailable()) return { skip: 'no go command on PATH' };
  const first = (await machineGoEnv('GOPROXY')).split(/[,|]/)[0];
  if (!/^https?:\/\//.test(first)) return { skip: `go env GOPROXY starts with ${JSON.stringify(first)}, not a URL` };
  const sumdb = (await machineGoEnv('GOSUMDB')).split(/\s+/)[0].split('+')[0];
  if (!sumdb || sumdb === 'off') return { skip: 'go env GOSUMDB is off' };
  try {
    const res = await fetch(`${first.replace(/\/+$/, '')}/rsc.io/quote/@v/v1.5.2.info`, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) return { skip: `${first} answered ${res.status}` };
  } catch (err) {
    return { skip: `${first} cannot be reached: ${(err as Error).message}` };
  }
  return { url: first.replace(/\/+$/, ''), sumdb };
}

/** A test app listening on loopback, and a go environment whose GOPROXY is one of its repositories. */
export interface ServedToGo {
  goEnv: GoEnv;
  close(): Promise<void>;
}

/** Opens `app` on 127.0.0.1 (port 0) for the go command, with GOPROXY set to `/go/{repo}/` on it; close() ends both. */
export async function serveToGo(
  app: { listen(opts: { hostname: string; port: number }): { server: { port?: number; stop(closeActive?: boolean): unknown } | null } },
  repo: string,
  opts: Omit<GoEnvOptions, 'goproxy'> = {},
): Promise<ServedToGo> {
  const server = app.listen({ hostname: '127.0.0.1', port: 0 }).server;
  if (!server) throw new Error('the test app did not start listening');
  const goEnv = await makeGoEnv({ ...opts, goproxy: `http://127.0.0.1:${server.port}/go/${repo}/` });
  return {
    goEnv,
    async close() {
      await server.stop(true);
      await goEnv.cleanup();
    },
  };
}
