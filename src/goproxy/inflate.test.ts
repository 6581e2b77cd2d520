import { describe, expect, test } from 'bun:test';
import { deflateSync } from 'fflate';
import { inflateRaw } from './inflate';

async function* chunksOf(data: Uint8Array, size: number) {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe.each(['native', 'fflate'] as const)('inflateRaw (%s)', (engine) => {
  test('restores the original bytes whatever the input chunking', async () => {
    const original = new TextEncoder().encode('package a\n\nfunc A() {}\n'.repeat(5000));
    for (const size of [1, 100, 70_000]) {
      const out: Uint8Array[] = [];
      await inflateRaw(engine, chunksOf(deflateSync(original), size), (c) => void out.push(c.slice()));
      expect(Buffer.concat(out).equals(Buffer.from(original))).toBe(true);
    }
  });

  // The sink sees output in steps of at most ~1032x the 16 KiB input slice, so it can stop a bomb early.
  test('hands output to the sink in bounded steps', async () => {
    const bomb = deflateSync(new Uint8Array(64 << 20), { level: 9 });
    let largest = 0;
    await inflateRaw(engine, chunksOf(bomb, 256 * 1024), (c) => void (largest = Math.max(largest, c.length)));
    expect(largest).toBeLessThanOrEqual(17 << 20);
  });

  test('a throw from the sink stops inflation and comes out unchanged', async () => {
    const boom = new Error('too big');
    const data = deflateSync(new Uint8Array(1 << 20));
    await expect(
      inflateRaw(engine, chunksOf(data, 4096), () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  test.each([
    ['corrupt', new Uint8Array([0xff, 0xff, 0xff, 0xff])],
    ['truncated', deflateSync(new TextEncoder().encode('hello '.repeat(1000))).subarray(0, 10)],
  ])('%s input is an error', async (_name, input) => {
    await expect(inflateRaw(engine, chunksOf(input, 1024), () => {})).rejects.toBeDefined();
  });

  test('a failing input stream is an error, not a hang', async () => {
    async function* failing() {
      yield deflateSync(new Uint8Array(10)).subarray(0, 1);
      throw new Error('read failed');
    }
    await expect(inflateRaw(engine, failing(), () => {})).rejects.toThrow('read failed');
  });
});
