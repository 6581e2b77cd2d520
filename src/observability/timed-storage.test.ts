import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { sample } from '../../test/support/metrics';
import type { BlobStore } from '../storage/blob-store';
import { FsBlobStore } from '../storage/fs-blob-store';
import { PrometheusMetrics } from './prometheus';
import { timedBlobStore } from './timed-storage';

let root: string;
let inner: FsBlobStore;
let registry: Registry;
let timed: BlobStore;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'orbitrepos-timed-'));
  inner = new FsBlobStore(root);
  await inner.put('a/blob', '0123456789');
  registry = new Registry();
  timed = timedBlobStore(inner, new PrometheusMetrics({ registry }));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const gets = async (result: string) =>
  sample(await registry.metrics(), 'orbitrepos_storage_operation_duration_seconds_count', { operation: 'get', result });

// Every plugin's storage is this wrapper: an optional method it drops is an optimisation gone without a sound.
test.each(['getBlob', 'readRange', 'sweepPartial'] as const)('the timed store offers %s when the store it wraps does', (method) => {
  expect(typeof inner[method]).toBe('function');
  expect(typeof timed[method]).toBe('function');
});

test('the timed store leaves out what the store it wraps does not have', () => {
  const streamOnly: BlobStore = Object.assign(Object.create(inner), { getBlob: undefined, readRange: undefined });
  const wrapped = timedBlobStore(streamOnly, new PrometheusMetrics({ registry: new Registry() }));
  expect(wrapped.getBlob).toBeUndefined();
  expect(wrapped.readRange).toBeUndefined();
});

test('getBlob and readRange through the timed store give the inner store answers, each counted as a get', async () => {
  const before = await gets('ok');
  const blob = timed.getBlob!('a/blob')!;
  expect([blob.size, await blob.text()]).toEqual([10, '0123456789']);
  expect(timed.getBlob!('a/missing')).toBeNull();
  expect(new TextDecoder().decode(await timed.readRange!('a/blob', 3, 4))).toBe('3456');
  expect((await gets('ok')) - before).toBe(3);
});

test('a getBlob that throws is counted as a failed get and the error reaches the caller', async () => {
  const before = await gets('error');
  expect(() => timed.getBlob!('../outside')).toThrow('invalid blob key');
  expect((await gets('error')) - before).toBe(1);
});
