/**
 * Property tests that can be replayed. Every fast-check run in a test process draws from one seed:
 * ORBITREPO_TEST_SEED when it is set (to replay a failure), else a random one. A failure names the
 * seed, so `ORBITREPO_TEST_SEED=<seed> bun test <file>` draws the same values again.
 */
import fc from 'fast-check';

function seedFromEnv(): number {
  const raw = process.env.ORBITREPO_TEST_SEED;
  if (raw === undefined || raw === '') return (Date.now() ^ (Math.random() * 0x100000000)) | 0;
  const seed = Number(raw);
  // fast-check seeds are 32-bit integers; anything else would silently become another seed.
  if (!Number.isInteger(seed) || seed < -0x80000000 || seed > 0x7fffffff) {
    throw new Error(`ORBITREPO_TEST_SEED must be a 32-bit integer (as a failure prints it), not ${JSON.stringify(raw)}`);
  }
  return seed;
}

export const PROPERTY_SEED = seedFromEnv();

function replayable(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  e.message = `${e.message}\nreplay with ORBITREPO_TEST_SEED=${PROPERTY_SEED}`;
  return e;
}

/** fc.assert with the suite's seed; a failure says how to replay it. */
export function checkProperty<Ts>(property: fc.IProperty<Ts>, params: fc.Parameters<Ts> = {}): void {
  try {
    fc.assert(property, { ...params, seed: PROPERTY_SEED });
  } catch (e) {
    throw replayable(e);
  }
}

/** The same for an fc.asyncProperty. */
export async function checkAsyncProperty<Ts>(property: fc.IAsyncProperty<Ts>, params: fc.Parameters<Ts> = {}): Promise<void> {
  try {
    await fc.assert(property, { ...params, seed: PROPERTY_SEED });
  } catch (e) {
    throw replayable(e);
  }
}
