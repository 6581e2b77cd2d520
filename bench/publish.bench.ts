/**
 * The publisher building the zip of a ~100 MB module directory (walk, zip,
 * read back through the server's zip check), against references in the same
 * run: Info-ZIP's `zip -r -D` of the same files, and with --go the go
 * command's own CreateFromDir (a small Go program built on the spot, which
 * needs the Go module proxy). Prints time ratios and the publisher's peak
 * RSS growth, to show memory stays flat whatever the module's size.
 *
 *   bun bench/publish.bench.ts [target MB, default 100] [--go]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPublish } from '../src/cli/publish';
import { writeTree } from '../test/fixtures/module-dirs';
import { buildCreateFromDirJudge } from '../test/support/go-createfromdir';

const MB = 1 << 20;
const args = process.argv.slice(2);
const targetMB = Number(args.find((a) => /^[0-9]+$/.test(a)) ?? 100);
const MODULE = 'example.com/bench/publish';
const VERSION = 'v1.0.0';

// Fixed seed: every run benchmarks the same files. Half source-like text, half incompressible.
let seed = 0x9e3779b9;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 0x100000000;
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
  '{',
  '}',
  '(',
  ')',
  '\n\t',
];
function text(size: number): string {
  let s = '';
  while (s.length < size) s += `${words[Math.floor(rand() * words.length)]} `;
  return s.slice(0, size);
}
function noise(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) new DataView(b.buffer).setUint32(i, (rand() * 0x100000000) >>> 0);
  return b;
}

const root = mkdtempSync(join(tmpdir(), 'orbit-publish-bench-'));
const dir = join(root, 'module');
const tree: Record<string, string> = { 'go.mod': `module ${MODULE}\n\ngo 1.22\n` };
let made = 0;
for (let i = 0; made < (targetMB * MB) / 2; i++) {
  const size = 2_000 + Math.floor(rand() * 60_000);
  tree[`pkg${i % 40}/file${i}.go`] = text(size);
  made += size;
}
writeTree(dir, tree);
const blobs = Math.max(1, Math.round(targetMB / 2 / 10));
for (let i = 0; i < blobs; i++) await Bun.write(join(dir, 'assets', `blob${i}.bin`), noise(10 * MB));
const files = Object.keys(tree).length + blobs;
console.log(`module: ${files} files, ~${targetMB} MB (half text, half incompressible)`);

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

// Reference 1: Info-ZIP on the same files (it compresses at level 6 by default, as the publisher does).
const zipRef = await timed(async () => {
  const p = Bun.spawn(['zip', '-q', '-r', '-D', join(root, 'ref.zip'), '.'], { cwd: dir, stdout: 'ignore', stderr: 'inherit' });
  return p.exited;
});

Bun.gc(true);
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
}, 20);
const io = { env: {}, cwd: root, stdout: { write: () => true }, stderr: { write: () => true } };
const ours = await timed(() => runPublish([dir, '--version', VERSION, '--output', join(root, 'ours.zip')], io));
clearInterval(sampler);
if (ours.value !== 0) throw new Error('the publisher failed');
const ourSize = Bun.file(join(root, 'ours.zip')).size;

const line = (name: string, ms: number, ref: number) =>
  console.log(`${name.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(7)} s   ${(ms / ref).toFixed(2)}× zip -r -D`);
line('zip -r -D (reference)', zipRef.ms, zipRef.ms);
line('orbitrepos-go publish --output (build + check)', ours.ms, zipRef.ms);
console.log(`zip sizes: publisher ${(ourSize / MB).toFixed(1)} MB, zip -r -D ${(Bun.file(join(root, 'ref.zip')).size / MB).toFixed(1)} MB`);
console.log(
  `publisher peak RSS growth: ${((rssPeak - rssBefore) / MB).toFixed(1)} MB for a ${targetMB} MB module (${((rssPeak - rssBefore) / (targetMB * MB)).toFixed(2)}× its size)`,
);

if (args.includes('--go')) {
  const judge = await buildCreateFromDirJudge();
  if ('skip' in judge) console.log(`--go skipped: ${judge.skip}`);
  else {
    const go = await timed(() => judge.run(MODULE, VERSION, dir));
    line('go: x/mod zip.CreateFromDir', go.ms, zipRef.ms);
    console.log(`publisher / CreateFromDir: ${(ours.ms / go.ms).toFixed(2)}×`);
    await judge.cleanup();
  }
}
rmSync(root, { recursive: true, force: true });
