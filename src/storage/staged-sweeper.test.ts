import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type S3rverHandle, startS3rver } from '../../test/support/s3rver';
import { silentLogger } from '../log';
import type { BlobStore } from './blob-store';
import { stageBlob } from './content-addressed';
import { FsBlobStore } from './fs-blob-store';
import { S3BlobStore } from './s3-blob-store';
import { startStagedSweeper } from './staged-sweeper';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
}, 60_000);
afterAll(async () => {
  await s3?.stop();
});

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of store.list(prefix)) out.push(k);
  return out;
}

/** Polls until check() holds; the sweep runs on its own timer. */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await Bun.sleep(25);
  }
}

const backends: [string, () => { store: BlobStore; cleanup(): void }][] = [
  [
    'filesystem',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'orbit-sweeper-'));
      return { store: new FsBlobStore(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    's3',
    () => {
      const store = new S3BlobStore({ ...s3.config, prefix: `sweeper-${crypto.randomUUID()}` });
      return { store, cleanup: () => store.destroy() };
    },
  ],
];

describe.each(backends)('the staged sweeper on %s', (_name, make) => {
  // Before, leftovers were removed only at the next start: a server that ran for weeks kept a killed upload's bytes.
  test('removes leftovers that age past the limit while the server runs, not only at start, and stops with stop()', async () => {
    const { store, cleanup } = make();
    const sweeper = startStagedSweeper({ store, log: silentLogger, intervalMs: 50, maxAgeMs: 300 });
    try {
      const leftover = await stageBlob(store, 'left by an upload whose process was killed');
      expect(await store.head(leftover.tmpKey)).not.toBeNull();
      await eventually(async () => (await store.head(leftover.tmpKey)) === null);

      await sweeper.stop();
      const afterStop = await stageBlob(store, 'staged after the sweeper stopped');
      await Bun.sleep(600);
      expect(await keys(store, 'tmp/')).toEqual([afterStop.tmpKey]);
    } finally {
      await sweeper.stop();
      cleanup();
    }
  }, 30_000);

  test('never takes a staged blob younger than the limit', async () => {
    const { store, cleanup } = make();
    const sweeper = startStagedSweeper({ store, log: silentLogger, intervalMs: 20, maxAgeMs: 60 * 60 * 1000 });
    try {
      const live = await stageBlob(store, 'still being checked');
      await Bun.sleep(200);
      expect(await store.head(live.tmpKey)).not.toBeNull();
    } finally {
      await sweeper.stop();
      cleanup();
    }
  }, 30_000);
});

test('a sweep that fails is logged and tried again at the next tick', async () => {
  let calls = 0;
  const broken = {
    list: async function* () {
      calls++;
      yield* [];
      throw Object.assign(new Error('storage down'), { code: 'EIO' });
    },
  } as unknown as BlobStore;
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
  const sweeper = startStagedSweeper({ store: broken, log, intervalMs: 20 });
  await eventually(async () => calls >= 3);
  await sweeper.stop();
  expect(warnings[0]).toContain('could not sweep');
});
