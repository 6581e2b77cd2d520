import { describe, expect, test } from 'bun:test';
import { ArrivingBody, HELD_TAIL_BYTES } from './arriving';

const chunk = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

/** A reader of a body that can tell what is there now: take(ms) counts the bytes until a read waits longer than ms. */
function counting(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  let pending: ReturnType<typeof reader.read> | undefined;
  return {
    async take(ms = 50): Promise<number> {
      let got = 0;
      for (;;) {
        pending ??= reader.read();
        const r = await Promise.race([pending, Bun.sleep(ms).then(() => 'waiting' as const)]);
        if (r === 'waiting') return got;
        pending = undefined;
        if (!r || r.done) return got;
        got += r.value?.byteLength ?? 0;
      }
    },
    reader,
  };
}

describe('ArrivingBody', () => {
  test('at least the last HELD_TAIL_BYTES reach the client only when the fill finishes', async () => {
    const body = new ArrivingBody();
    const client = counting(body.take()!);
    const size = 16 * 1024;
    for (let i = 0; i < 12; i++) await body.push(chunk(size));
    const before = await client.take();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThanOrEqual(12 * size - HELD_TAIL_BYTES);
    body.finish();
    expect(before + (await client.take())).toBe(12 * size);
  });

  test('a failed fill errors the body, its held tail never sent', async () => {
    const body = new ArrivingBody();
    const client = counting(body.take()!);
    await body.push(chunk(100));
    await body.push(chunk(HELD_TAIL_BYTES));
    expect(await client.take()).toBe(100);
    body.fail();
    await expect(client.take()).rejects.toBeUndefined();
  });

  test('one small file is held back whole until it is finished', async () => {
    const body = new ArrivingBody();
    const reader = body.take()!.getReader();
    await body.push(chunk(1000));
    body.finish();
    const first = await reader.read();
    expect(first.value?.byteLength).toBe(1000);
    expect((await reader.read()).done).toBe(true);
  });

  test('the body goes to one caller only', () => {
    const body = new ArrivingBody();
    expect(body.take()).toBeDefined();
    expect(body.take()).toBeUndefined();
  });

  test('a declined body takes no bytes and never holds up the fill', async () => {
    const stalls: number[] = [];
    // A fill waiting on this body would sit out the whole minute: the test's own timeout says it did not.
    const body = new ArrivingBody((ms) => stalls.push(ms), 60_000);
    body.decline();
    expect(body.take()).toBeUndefined();
    for (let i = 0; i < 8; i++) await body.push(chunk(1 << 20));
    body.finish();
    expect(stalls).toEqual([]);
  });

  // The fill others wait on must not wait forever on one client that stopped reading.
  test('a client that reads nothing while its buffer is full is cut loose after stallMs, and the fill goes on', async () => {
    const stalls: number[] = [];
    const body = new ArrivingBody((ms) => stalls.push(ms), 30);
    const reader = body.take()!.getReader();
    for (let i = 0; i < 8; i++) await body.push(chunk(1 << 20));
    expect(stalls).toEqual([30]);
    await expect(reader.read()).rejects.toBeUndefined();
    await body.push(chunk(1));
    body.finish();
  });
});
