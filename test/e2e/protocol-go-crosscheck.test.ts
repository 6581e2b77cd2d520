/**
 * The real go command is the judge: module zips built here are served from a
 * loopback GOPROXY and fetched with `go mod download -json`; the Sum and
 * GoModSum it reports must equal what checkModuleZip and goModHash compute, and
 * every zip checkModuleZip refuses must be one the go command refuses too
 * (except where we are deliberately stricter, which the corpus records).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  type CheckedZip,
  checkModuleZip,
  GoRequestError,
  goModForZip,
  goModHash,
  InvalidZipError,
  listVersions,
  parseGoRequestPath,
  readerFromBytes,
  selectLatest,
} from '../../src/goproxy/index';
import { type InvalidZipCase, invalidZipCorpus } from '../fixtures/invalid-module-zips';
import { type GoEnv, type GoModDownload, goAvailable, makeGoEnv, parseJsonStream, runGo } from '../support/go';
import { buildModuleZip, type ModuleZipOptions } from '../support/zipbuild';

interface Served {
  module: string;
  version: string;
  zip: Uint8Array;
  goMod: Uint8Array;
}

interface ValidCase {
  name: string;
  module: string;
  version: string;
  files: Record<string, string | Uint8Array>;
  opts?: ModuleZipOptions;
}

const incompressible = crypto.getRandomValues(new Uint8Array(300_000));

const validCases: ValidCase[] = [
  {
    name: 'nested directories with directory entries',
    module: 'example.com/nested',
    version: 'v1.0.0',
    files: {
      'go.mod': 'module example.com/nested\n\ngo 1.21\n',
      'a.go': 'package nested\n',
      'x/y/z/deep.go': 'package z\n',
      'x/y/data.bin': incompressible,
    },
    opts: { directories: true },
  },
  {
    name: 'an upper-case module path and file names',
    module: 'github.com/Foo/Bar',
    version: 'v1.2.3',
    files: { 'go.mod': 'module github.com/Foo/Bar\n', 'Bar.go': 'package bar\n', 'Docs/README.md': '# Bar\n' },
  },
  {
    name: 'a /v2 module',
    module: 'example.com/mod/v2',
    version: 'v2.0.1',
    files: { 'go.mod': 'module example.com/mod/v2\n', 'm.go': 'package mod\n' },
  },
  { name: 'a module without go.mod', module: 'example.com/nogomod', version: 'v1.0.0', files: { 'old.go': 'package nogomod\n' } },
  { name: 'a +incompatible version', module: 'example.com/legacy', version: 'v2.0.0+incompatible', files: { 'l.go': 'package legacy\n' } },
  {
    name: 'a module with a LICENSE',
    module: 'example.com/licensed',
    version: 'v0.1.0',
    files: { 'go.mod': 'module example.com/licensed\n', LICENSE: 'Permission is hereby granted...\n', 'l.go': 'package licensed\n' },
  },
  {
    name: 'zip64 records and data descriptors',
    module: 'example.com/zipsixtyfour',
    version: 'v1.0.0',
    files: { 'go.mod': 'module example.com/zipsixtyfour\n', 'z.go': 'package z\n' },
    opts: { zip64: true, dataDescriptor: true },
  },
  {
    name: 'stored entries',
    module: 'example.com/stored',
    version: 'v1.0.0',
    files: { 'go.mod': 'module example.com/stored\n', 's.go': 'package s\n' },
    opts: { method: 0 },
  },
  {
    // U+1D49C sorts before U+FB01 in UTF-16 but after it in UTF-8: the hash must use Go's byte order.
    name: 'unicode file names',
    module: 'example.com/unicode',
    version: 'v1.0.0',
    files: {
      'go.mod': 'module example.com/unicode\n',
      '\u{1D49C}.txt': 'script A\n',
      '\uFB01.txt': 'fi ligature\n',
      'données/é.txt': 'é\n',
    },
  },
  {
    // CreateFromDir leaves these out, but CheckZip accepts a zip that has them: the server must too.
    name: 'a .git directory, vendor/ and a nested module directory without its go.mod',
    module: 'example.com/vcs',
    version: 'v1.0.0',
    files: {
      'go.mod': 'module example.com/vcs\n',
      'v.go': 'package vcs\n',
      '.git/config': '[core]\n',
      '.hg_archival.txt': 'repo: 0\n',
      'vendor/modules.txt': '# example.com/dep v1.0.0\n',
      'vendor/example.com/dep/dep.go': 'package dep\n',
    },
  },
  {
    name: 'directory entries for the module folder and every folder inside it (zip -r -D would leave them out)',
    module: 'example.com/withdirs',
    version: 'v1.0.0',
    // The '' file is an entry named exactly "example.com/withdirs@v1.0.0/": the module folder itself.
    files: { '': '', 'go.mod': 'module example.com/withdirs\n', 'a/b/c.go': 'package b\n' },
    opts: { directories: true },
  },
  { name: 'a prerelease', module: 'example.com/pre', version: 'v1.0.0-rc.1', files: { 'go.mod': 'module example.com/pre\n' } },
  {
    name: 'a gopkg.in path',
    module: 'gopkg.in/check.v1',
    version: 'v1.0.0',
    files: { 'go.mod': 'module gopkg.in/check.v1\n', 'c.go': 'package check\n' },
  },
];

const served = new Map<string, Served>();
const key = (m: string, v: string) => `${m}@${v}`;

function serve(req: Request): Response {
  const path = decodeURIComponent(new URL(req.url).pathname).slice(1);
  let r: ReturnType<typeof parseGoRequestPath>;
  try {
    r = parseGoRequestPath(new URL(req.url).pathname.slice(1));
  } catch (e) {
    if (e instanceof GoRequestError) return new Response(e.message, { status: e.status });
    throw e;
  }
  const versions = [...served.values()].filter((s) => s.module === r.module);
  const info = (v: string) => Response.json({ Version: v, Time: '2024-05-01T12:00:00Z' });
  if (r.kind === 'list') return new Response(listVersions(versions.map((s) => s.version)).join('\n'));
  if (r.kind === 'latest') {
    const latest = selectLatest(versions);
    return latest ? info(latest.version) : new Response('not found', { status: 404 });
  }
  const s = served.get(key(r.module, r.version));
  if (!s) return new Response(`not found: ${path}`, { status: 404 });
  if (r.kind === 'info') return info(s.version);
  if (r.kind === 'mod') return new Response(s.goMod as Uint8Array<ArrayBuffer>);
  return new Response(s.zip as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/zip' } });
}

async function goDownload(env: GoEnv, mods: string[]): Promise<Map<string, GoModDownload>> {
  const r = await runGo(['mod', 'download', '-json', ...mods], { env: env.env, cwd: env.work, timeoutMs: 90_000 });
  const out = new Map<string, GoModDownload>();
  for (const d of parseJsonStream<GoModDownload>(r.stdout)) out.set(key(d.Path, d.Version), d);
  if (out.size !== mods.length) throw new Error(`go mod download reported ${out.size} of ${mods.length} modules:\n${r.stderr}`);
  return out;
}

const haveGo = goAvailable();
if (!haveGo) console.warn('SKIPPING protocol-go-crosscheck: no `go` command on PATH');

describe.skipIf(!haveGo)('the go command agrees with checkModuleZip', () => {
  let server: ReturnType<typeof Bun.serve>;
  let env: GoEnv;
  const checked = new Map<string, CheckedZip>();
  let corpus: InvalidZipCase[] = [];
  let validResults = new Map<string, GoModDownload>();
  let invalidResults = new Map<string, GoModDownload>();

  beforeAll(async () => {
    for (const c of validCases) {
      const zip = buildModuleZip(c.module, c.version, c.files, c.opts);
      const result = await checkModuleZip(readerFromBytes(zip), c.module, c.version);
      checked.set(key(c.module, c.version), result);
      served.set(key(c.module, c.version), { module: c.module, version: c.version, zip, goMod: goModForZip(c.module, result.goMod) });
    }
    corpus = invalidZipCorpus();
    for (const c of corpus) {
      served.set(key(c.module, c.version), { module: c.module, version: c.version, zip: c.zip, goMod: goModForZip(c.module, null) });
    }
    server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: serve });
    env = await makeGoEnv({ goproxy: `http://127.0.0.1:${server.port}` });
    [validResults, invalidResults] = await Promise.all([
      goDownload(
        env,
        validCases.map((c) => key(c.module, c.version)),
      ),
      goDownload(
        env,
        corpus.map((c) => key(c.module, c.version)),
      ),
    ]);
  });

  afterAll(async () => {
    server?.stop(true);
    await env?.cleanup();
  });

  test.each(validCases.map((c) => [c.name, c] as const))('Sum and GoModSum match for %s', (_name, c) => {
    const k = key(c.module, c.version);
    const got = validResults.get(k)!;
    expect(got.Error).toBeUndefined();
    expect(got.Sum).toBe(checked.get(k)!.h1);
    expect(got.GoModSum).toBe(goModHash(c.module, c.version, goModForZip(c.module, checked.get(k)!.goMod)));
  });

  test.each(invalidZipCorpus().map((c) => [c.id, c] as const))(
    '%s: refused by us with its rule, and by go unless we are stricter',
    async (_id, c) => {
      const e = await checkModuleZip(readerFromBytes(c.zip), c.module, c.version).catch((x) => x);
      expect(e).toBeInstanceOf(InvalidZipError);
      expect(e.rule).toBe(c.rule);
      const go = invalidResults.get(key(c.module, c.version))!;
      if (c.goRefuses) expect(go.Error).toBeString();
      else expect(go.Error).toBeUndefined();
    },
  );

  test("the proxy's own version list, as go reads it, holds only canonical tags", async () => {
    const r = await runGo(['list', '-m', '-versions', '-json', 'example.com/pre'], { env: env.env, cwd: env.work });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).Versions).toEqual(['v1.0.0-rc.1']);
  });
});
