/**
 * The house rules of ../shared/ARCHITECTURE.md that a machine can hold: which layer may import which.
 * Reads every source file under src/ (tests excluded: they may reach anywhere to set things up).
 */
import { describe, expect, test } from 'bun:test';
import { dirname, join, normalize, relative } from 'node:path';
import { Glob } from 'bun';

const ROOT = join(import.meta.dir, '..');
const transpiler = new Bun.Transpiler({ loader: 'ts' });

interface Edge {
  /** The importing file, relative to the repository, e.g. "src/repos/proxy.ts". */
  from: string;
  /** A project file ("src/errors") without extension, or a package name ("elysia", "node:fs"). */
  to: string;
  /** The import as written. */
  spec: string;
}

/**
 * scanImports sees what survives compilation; `import type` is erased before that, yet a type import
 * is a dependency too (a repository typed by an HTTP request knows HTTP), so those are read as text.
 */
function importsOf(code: string): string[] {
  // A shebang (an executable entry point) is not TypeScript to the transpiler.
  const runtime = transpiler.scanImports(code.replace(/^#![^\n]*/, '')).map((i) => i.path);
  const typeOnly = [...code.matchAll(/^\s*(?:import|export)\s+type\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
  return [...new Set([...runtime, ...typeOnly])];
}

async function edges(): Promise<Edge[]> {
  const out: Edge[] = [];
  for await (const file of new Glob('src/**/*.ts').scan(ROOT)) {
    if (file.endsWith('.test.ts')) continue;
    for (const spec of importsOf(await Bun.file(join(ROOT, file)).text())) {
      const to = spec.startsWith('.') ? relative(ROOT, normalize(join(ROOT, dirname(file), spec))).replace(/\.ts$/, '') : spec;
      out.push({ from: file, to, spec });
    }
  }
  return out;
}

const all = await edges();
const within = (dir: string) => (path: string) => path === dir || path.startsWith(`${dir}/`);
const isProject = (to: string) => to.startsWith('src/') || to.startsWith('test/') || to.startsWith('bench/');
const isElysia = (to: string) => to === 'elysia' || to.startsWith('elysia/') || to.startsWith('@elysiajs/');

/** Every import of a file in `layer` for which `forbidden` holds, as "from -> to" lines (empty when the rule holds). */
function breaches(layer: (from: string) => boolean, forbidden: (to: string) => boolean): string[] {
  return all.filter((e) => layer(e.from) && forbidden(e.to)).map((e) => `${e.from} -> ${e.to}`);
}

describe('layer rules', () => {
  test('the scan sees the project: hundreds of imports, the goproxy package among them', () => {
    // Guards the rules below against passing because the scan found nothing.
    expect(all.length).toBeGreaterThan(200);
    expect(all.some((e) => e.from === 'src/repos/proxy.ts' && e.to === 'src/goproxy/zip-check')).toBe(true);
  });

  test('goproxy imports nothing of the project outside itself: the Go protocol is pure and stands alone', () => {
    expect(breaches(within('src/goproxy'), (to) => isProject(to) && !within('src/goproxy')(to))).toEqual([]);
  });

  test('goproxy does no I/O: no file system, network, database or storage package', () => {
    const io = (to: string) => /^(node:)?(fs|net|http|https|child_process)(\/|$)/.test(to) || /^(postgres|drizzle-orm|@aws-sdk)/.test(to);
    expect(breaches(within('src/goproxy'), io)).toEqual([]);
  });

  test('storage knows nothing of Go, repositories, HTTP or the database', () => {
    const above = ['src/goproxy', 'src/repos', 'src/http', 'src/auth', 'src/db', 'src/plugin', 'src/context'];
    expect(breaches(within('src/storage'), (to) => above.some((dir) => within(dir)(to)))).toEqual([]);
  });

  test('repos knows nothing of HTTP: no Elysia, no route, no plugin wiring', () => {
    const http = (to: string) =>
      isElysia(to) || within('src/http')(to) || ['src/plugin', 'src/context', 'src/server', 'src/index'].includes(to);
    expect(breaches(within('src/repos'), http)).toEqual([]);
  });

  test('the database schema and driver know no service above them', () => {
    const above = ['src/goproxy', 'src/repos', 'src/http', 'src/auth', 'src/storage', 'src/plugin', 'src/context'];
    expect(breaches(within('src/db'), (to) => above.some((dir) => within(dir)(to)))).toEqual([]);
  });

  test('auth knows nothing of HTTP routes, repositories or storage', () => {
    const above = ['src/http', 'src/repos', 'src/storage', 'src/goproxy', 'src/plugin', 'src/context'];
    expect(breaches(within('src/auth'), (to) => isElysia(to) || above.some((dir) => within(dir)(to)))).toEqual([]);
  });

  test('the admin API, the UI and the Go routes reach storage and the database only through services', () => {
    // Rows (src/db/schema types) are what services hand out; opening, querying and storing are theirs alone.
    const below = (to: string) =>
      within('src/storage')(to) || (within('src/db')(to) && to !== 'src/db/schema') || to.startsWith('drizzle-orm') || to === 'postgres';
    // The readiness probe is the one route that asks the database and storage themselves whether they answer.
    expect(breaches((from) => within('src/http')(from) && from !== 'src/http/health.ts', below)).toEqual([]);
  });

  test('only the HTTP layer and the files that mount it import Elysia or the routes', () => {
    const mounts = (from: string) => within('src/http')(from) || ['src/plugin.ts', 'src/server.ts'].includes(from);
    expect(
      breaches(
        (from) => !mounts(from),
        (to) => isElysia(to) || within('src/http')(to),
      ),
    ).toEqual([]);
  });

  test('errors, log, config and the full-collection pacer stand alone: everything may import them, they import nothing of the project', () => {
    const leaves = ['src/errors.ts', 'src/log.ts', 'src/log-stdout.ts', 'src/config.ts', 'src/full-gc.ts'];
    // The log's stdout writer is the log's own file, the one import it makes.
    const ownFile = (from: string, to: string) => from === 'src/log.ts' && to === 'src/log-stdout';
    expect(
      all.filter((e) => leaves.includes(e.from) && isProject(e.to) && !ownFile(e.from, e.to)).map((e) => `${e.from} -> ${e.to}`),
    ).toEqual([]);
  });
});

describe('one import style', () => {
  test('project imports name no .ts extension', () => {
    expect(all.filter((e) => e.spec.startsWith('.') && /\.tsx?$/.test(e.spec)).map((e) => `${e.from} -> ${e.spec}`)).toEqual([]);
  });
});
