import { describe, expect, test } from 'bun:test';
import { Glob } from 'bun';
import fc from 'fast-check';
import { checkAsyncProperty, checkProperty, PROPERTY_SEED } from './property';

const root = new URL('../..', import.meta.url).pathname;

describe('replayable properties', () => {
  test('a failing property says which seed replays it', () => {
    const failing = fc.property(fc.nat(), (n) => n < 10);
    expect(() => checkProperty(failing)).toThrow(`replay with ORBITREPO_TEST_SEED=${PROPERTY_SEED}`);
  });

  test('a failing async property says so too', async () => {
    const failing = fc.asyncProperty(fc.nat(), async (n) => n < 10);
    await expect(checkAsyncProperty(failing)).rejects.toThrow(`replay with ORBITREPO_TEST_SEED=${PROPERTY_SEED}`);
  });

  // A bare fc.assert would draw from its own seed, which no failure message would name.
  test('every property test in the suite runs through this helper', async () => {
    const bare: string[] = [];
    for await (const file of new Glob('{src,test,bench}/**/*.ts').scan(root)) {
      if (file === 'test/support/property.ts' || file === 'test/support/property.test.ts') continue;
      if ((await Bun.file(root + file).text()).includes('fc.assert(')) bare.push(file);
    }
    expect(bare).toEqual([]);
  });
});
