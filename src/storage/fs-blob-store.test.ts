import { afterEach, describe, expect, test } from 'bun:test';
import { chmod, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunked, runBlobStoreContract } from './blob-store.contract';
import { FsBlobStore } from './fs-blob-store';
import { openBlobStore } from './open';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'orbitrepos-fs-store-'));
}

runBlobStoreContract('filesystem', async () => {
  const root = await tempRoot();
  return { store: new FsBlobStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FsBlobStore', () => {
  const roots: string[] = [];
  afterEach(async () => {
    for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
  });
  const newStore = async () => {
    const root = await tempRoot();
    roots.push(root);
    return { root, store: new FsBlobStore(root) };
  };

  // A reader must never see a half-written file under a real key: bytes go to .partial/ first.
  test('a put in progress is invisible under its key and its temporary file goes once the body fails', async () => {
    const { root, store } = await newStore();
    let fail!: (err: Error) => void;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(1000));
        fail = (err) => controller.error(err);
      },
    });
    const put = store.put('pending/blob', stalled);
    await Bun.sleep(20);
    expect(await store.head('pending/blob')).toBeNull();
    expect(await readdir(join(root, '.partial'))).toHaveLength(1);
    expect(await Array.fromAsync(store.list(''))).toEqual([]);
    fail(new Error('gone'));
    await expect(put).rejects.toThrow('gone');
    expect(await readdir(join(root, '.partial'))).toEqual([]);
  });

  // A process killed mid-put leaves its body in .partial/, where no key reaches it; a later start removes it.
  test('sweepPartial removes half-written bodies older than the limit and keeps a write still going', async () => {
    const { root, store } = await newStore();
    await mkdir(join(root, '.partial'), { recursive: true });
    await writeFile(join(root, '.partial', 'killed'), 'half a zip');
    await writeFile(join(root, '.partial', 'in-progress'), 'still arriving');
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(join(root, '.partial', 'killed'), hourAgo, hourAgo);
    expect(await store.sweepPartial(60_000)).toBe(1);
    expect(await readdir(join(root, '.partial'))).toEqual(['in-progress']);
  });

  test('the reserved .partial directory cannot be used as a key', async () => {
    const { store } = await newStore();
    await expect(store.put('.partial/x', 'x')).rejects.toThrow('reserved');
  });

  test('a key that names a directory of other keys reads as missing', async () => {
    const { store } = await newStore();
    await store.put('dir/child', 'x');
    expect(await store.head('dir')).toBeNull();
    await expect(store.get('dir')).rejects.toThrow('not found');
    await store.delete('dir');
    expect(await store.head('dir/child')).toMatchObject({ size: 1 });
  });

  // Readers open the file on their first read; from then on they hold the inode, so a put that
  // renames new bytes over the key cannot tear a read that is under way.
  test('a read under way keeps its old bytes when the key is overwritten mid-read', async () => {
    const { store } = await newStore();
    await store.put('swap', new Uint8Array(8 * 1024 * 1024).fill(1));
    const reader = (await store.get('swap')).getReader();
    const first = await reader.read();
    await store.put('swap', chunked([new Uint8Array(10).fill(2)]));
    const chunks: Uint8Array[] = [first.value!];
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    const bytes = Buffer.concat(chunks);
    expect(bytes.byteLength).toBe(8 * 1024 * 1024);
    expect(bytes.every((b) => b === 1)).toBe(true);
  });

  test('openBlobStore makes the filesystem root and returns a working store', async () => {
    const { root } = await newStore();
    const store = await openBlobStore({ type: 'filesystem', path: join(root, 'not', 'yet', 'there') });
    await store.check();
    await store.put('k', 'v');
    expect(await store.head('k')).toMatchObject({ size: 1 });
  });

  test('check fails with a reason when the root cannot be made', async () => {
    const { root } = await newStore();
    await Bun.write(join(root, 'blocker'), 'x');
    await expect(new FsBlobStore(join(root, 'blocker', 'inside')).check()).rejects.toThrow('not writable');
  });

  test.skipIf(process.getuid?.() === 0)('check fails with a reason when the root is read-only', async () => {
    const { root, store } = await newStore();
    await chmod(root, 0o500);
    try {
      await expect(store.check()).rejects.toThrow('not writable');
    } finally {
      await chmod(root, 0o700);
    }
  });
});
