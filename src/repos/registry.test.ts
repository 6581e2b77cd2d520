import { expect, test } from 'bun:test';
import type { RepoDeps } from './deps';
import { RepositoryRegistry } from './registry';

// A host that keeps its database open after orbit.close() must not keep our LISTEN and fills alive.
test('closing the registry closes every shared service once and forgets them', async () => {
  const closed: string[] = [];
  const shared = new Map<string, unknown>([
    ['coalescer', { close: async () => void closed.push('coalescer') }],
    ['failing', { close: async () => Promise.reject(new Error('already closed')) }],
    ['plain value', 42],
  ]);
  const registry = new RepositoryRegistry({ shared } as unknown as Omit<RepoDeps, 'instantiate'>);
  await registry.close();
  await registry.close();
  expect(closed).toEqual(['coalescer']);
  expect(shared.size).toBe(0);
});
