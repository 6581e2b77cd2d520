/**
 * checkModuleZip on a ~100 MB module zip read from disk through range reads.
 * Shows that memory stays flat whatever the archive size and what throughput
 * to expect when a proxy repository validates an upstream zip.
 *
 *   bun bench/zip-check.bench.ts [target MB, default 100] [--fflate] [--go]
 *
 * --fflate also times the pure-JS inflate engine; --go also asks the real go
 * command (through a loopback GOPROXY) for the zip's hash and compares.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkModuleZip, type RandomAccessReader } from '../src/goproxy/index';
import type { InflateEngine } from '../src/goproxy/inflate';
import { type GoModDownload, makeGoEnv, parseJsonStream, runGo } from '../test/support/go';
import { writeZipFile, type ZipEntrySpec } from '../test/support/zipbuild';

const MODULE = 'example.com/bench/big';
const VERSION = 'v1.0.0';
const MB = 1 << 20;
const args = process.argv.slice(2);
const targetMB = Number(args.find((a) => /^[0-9]+$/.test(a)) ?? 100);

// A fixed-seed generator so every run benchmarks the same archive.
let seed = 0x2545f491;
const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 0x100000000;
const words = [
  'func',
  'return',
  'if',
  'err',
  'nil',
  'package',
  'import',
  'struct',
  'type',
  'range',
  'for',
  'ctx',
  'value',
  'string',
  'int',
  'map',
  'go',
  'defer',
  'select',
  'case',
];

function goSource(size: number): string {
  let s = 'package big\n\n';
  while (s.length < size) {
    s += `func f${Math.floor(rand() * 1e6)}(x int) int {\n`;
    for (let i = 0; i < 6; i++) s += '\t' + Array.from({ length: 8 }, () => words[Math.floor(rand() * words.length)]).join(' ') + '\n';
    s += '}\n\n';
  }
  return s;
}

function* entries(): Generator<ZipEntrySpec> {
  const prefix = `${MODULE}@${VERSION}/`;
  yield { name: prefix + 'go.mod', data: `module ${MODULE}\n\ngo 1.22\n` };
  yield { name: prefix + 'LICENSE', data: 'Permission is hereby granted, free of charge...\n'.repeat(20) };
  // Roughly: a third of the zip is compressed source in many small files, the rest incompressible blobs.
  const sourceFiles = Math.round((targetMB * 4000) / 100);
  for (let i = 0; i < sourceFiles; i++) {
    yield { name: `${prefix}pkg${i % 97}/sub${i % 7}/file${i}.go`, data: goSource(8_000 + Math.floor(rand() * 16_000)) };
  }
  const blobs = Math.round((targetMB * 90) / 100);
  for (let i = 0; i < blobs; i++) {
    const data = new Uint8Array(MB);
    for (let off = 0; off < MB; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
    yield { name: `${prefix}testdata/blob${i}.bin`, data, method: i % 2 === 0 ? 0 : 8 };
  }
}

function fileReader(path: string): RandomAccessReader {
  const f = Bun.file(path);
  return { size: f.size, read: async (offset, length) => new Uint8Array(await f.slice(offset, offset + length).arrayBuffer()) };
}

async function timeCheck(path: string, size: number, engine: InflateEngine): Promise<string> {
  Bun.gc(true);
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t = performance.now();
  const result = await checkModuleZip(fileReader(path), MODULE, VERSION, { inflate: engine });
  const elapsed = (performance.now() - t) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(`[${engine}] checked ${result.files} files, ${(result.uncompressedSize / MB).toFixed(1)} MiB uncompressed`);
  console.log(
    `[${engine}] elapsed ${elapsed.toFixed(2)} s (${(size / MB / elapsed).toFixed(0)} MiB/s of zip, ${(result.uncompressedSize / MB / elapsed).toFixed(0)} MiB/s of content)`,
  );
  console.log(
    `[${engine}] rss before ${(baseline / MB).toFixed(0)} MiB, peak ${(peak / MB).toFixed(0)} MiB (+${((peak - baseline) / MB).toFixed(0)} MiB)`,
  );
  console.log(`[${engine}] h1 ${result.h1}`);
  return result.h1;
}

async function goSum(path: string): Promise<string | undefined> {
  const prefix = `/${MODULE}/@v/${VERSION}`;
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const p = new URL(req.url).pathname;
      if (p === `${prefix}.info`) return Response.json({ Version: VERSION });
      if (p === `${prefix}.mod`) return new Response(`module ${MODULE}\n\ngo 1.22\n`);
      if (p === `${prefix}.zip`) return new Response(Bun.file(path));
      return new Response('not found', { status: 404 });
    },
  });
  const env = await makeGoEnv({ goproxy: `http://127.0.0.1:${server.port}` });
  try {
    const r = await runGo(['mod', 'download', '-json', `${MODULE}@${VERSION}`], { env: env.env, cwd: env.work, timeoutMs: 300_000 });
    const [d] = parseJsonStream<GoModDownload>(r.stdout);
    if (d?.Error) console.log(`go: ${d.Error}`);
    return d?.Sum;
  } finally {
    server.stop(true);
    await env.cleanup();
  }
}

const path = join(tmpdir(), `orbit-zip-bench-${process.pid}.zip`);
try {
  const t = performance.now();
  const size = await writeZipFile(path, entries());
  console.log(`built ${path}: ${(size / MB).toFixed(1)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const h1 = await timeCheck(path, size, 'native');
  if (args.includes('--fflate') && (await timeCheck(path, size, 'fflate')) !== h1) throw new Error('engines disagree');
  if (args.includes('--go')) {
    const sum = await goSum(path);
    console.log(`go mod download Sum ${sum} (${sum === h1 ? 'matches' : 'DIFFERS'})`);
  }
} finally {
  await rm(path, { force: true });
}
