/**
 * The go command is the judge of the publisher: for every directory of the
 * corpus, golang.org/x/mod/zip.CreateFromDir (in a small Go program built at
 * test time) and `orbitrepos-go publish --dry-run` must list the same files
 * and the same h1:, or both refuse the directory for the same files.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsModuleDir } from '../../src/cli/module-dir';
import { runPublish } from '../../src/cli/publish';
import { listModuleFiles } from '../../src/goproxy/module-files';
import { moduleDirCorpus, writeTree } from '../fixtures/module-dirs';
import { buildCreateFromDirJudge } from '../support/go-createfromdir';

const judge = await buildCreateFromDirJudge();
if ('skip' in judge) console.warn(`SKIPPED publish cross-check with CreateFromDir: ${judge.skip}`);

function captured() {
  let out = '';
  let err = '';
  return {
    io: {
      env: {},
      cwd: '/',
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    },
    out: () => out,
    err: () => err,
  };
}

describe.skipIf('skip' in judge)('the publisher builds the zip golang.org/x/mod/zip.CreateFromDir builds', () => {
  const root = mkdtempSync(join(tmpdir(), 'orbit-publish-corpus-'));
  afterAll(async () => {
    rmSync(root, { recursive: true, force: true });
    if (!('skip' in judge)) await judge.cleanup();
  });

  const accepted = moduleDirCorpus.filter((c) => !c.refuses);
  const refused = moduleDirCorpus.filter((c) => c.refuses);

  test.each(accepted.map((c) => [c.name, c] as const))('%s: same files and the same h1: as CreateFromDir', async (_name, c) => {
    if ('skip' in judge) return;
    const dir = join(root, c.module.replaceAll('/', '_'));
    writeTree(dir, c.tree);
    const want = await judge.run(c.module, c.version, dir);
    expect(want.error).toBeUndefined();
    const run = captured();
    const code = await runPublish([dir, '--dry-run', '--version', c.version], run.io);
    expect(run.err()).not.toContain('orbitrepos-go publish:');
    expect(code).toBe(0);
    const lines = run.out().trim().split('\n');
    const h1 = lines.pop();
    expect(lines.sort()).toEqual([...(want.names ?? [])].sort());
    expect(h1).toBe(want.h1!);
  });

  test.each(refused.map((c) => [c.name, c] as const))('%s: refused by both, for the same files', async (_name, c) => {
    if ('skip' in judge) return;
    const dir = join(root, c.module.replaceAll('/', '_'));
    writeTree(dir, c.tree);
    const want = await judge.run(c.module, c.version, dir);
    expect(want.error).toBeDefined();
    const listed = await listModuleFiles(fsModuleDir(dir));
    expect(listed.invalid.map((f) => f.path).sort()).toEqual([...(want.invalid ?? [])].sort());
    expect([...new Set(listed.invalid.map((f) => f.rule))].sort()).toEqual([...c.refuses!].sort());
    const run = captured();
    expect(await runPublish([dir, '--dry-run', '--version', c.version], run.io)).toBe(1);
    for (const rule of c.refuses!) expect(run.err()).toContain(`[${rule}]`);
  });
});
