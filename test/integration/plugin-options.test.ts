import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log';
import { createOrbitRepos } from '../../src/plugin';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { openTestDatabase, type TestDatabaseKind, testDatabaseKinds } from '../support/db';

const dir = mkdtempSync(join(tmpdir(), 'orbit-plugin-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A host that hands over its database and storage owns its own environment: our variables are not its concern.
test('a host that gives a database and storage is not stopped by a bad ORBITREPO_* variable', async () => {
  const db = await openTestDatabase('pglite');
  const saved = process.env.ORBITREPO_PORT;
  process.env.ORBITREPO_PORT = 'not-a-port';
  try {
    const orbit = await createOrbitRepos({ database: db.handle, storage: new FsBlobStore(dir), log: silentLogger });
    const res = await orbit.plugin.handle(new Request('http://host.test/health'));
    expect(res.status).toBe(200);
    await orbit.close();
  } finally {
    if (saved === undefined) delete process.env.ORBITREPO_PORT;
    else process.env.ORBITREPO_PORT = saved;
    await db.cleanup();
  }
});

test('without a database the plugin reads the environment, and a bad value stops it with the variable named', async () => {
  const saved = process.env.ORBITREPO_PORT;
  process.env.ORBITREPO_PORT = 'not-a-port';
  try {
    await expect(createOrbitRepos({ storage: new FsBlobStore(dir), log: silentLogger })).rejects.toThrow('ORBITREPO_PORT');
  } finally {
    if (saved === undefined) delete process.env.ORBITREPO_PORT;
    else process.env.ORBITREPO_PORT = saved;
  }
});

// A host that keeps its database open after orbit.close() must not keep our LISTENs (and fills) alive.
// On PGlite the coalescer is the database's only user and listens for nothing (soleProcess); the cache bus still listens.
const listensOn: Record<TestDatabaseKind, string[]> = {
  pglite: ['orbitrepos_invalidate'],
  postgres: ['orbitrepos_fetch', 'orbitrepos_invalidate'],
};

test.each(testDatabaseKinds())('closing the plugin ends every LISTEN it opened on a %s database the host keeps', async (kind) => {
  const db = await openTestDatabase(kind);
  const unlistened: string[] = [];
  const listen = db.handle.listen.bind(db.handle);
  const handle = {
    ...db.handle,
    listen: async (...args: Parameters<typeof listen>) => {
      const [channel] = args;
      const unlisten = await listen(...args);
      return async () => {
        unlistened.push(channel);
        await unlisten();
      };
    },
  };
  try {
    const orbit = await createOrbitRepos({ database: handle, storage: new FsBlobStore(dir), log: silentLogger });
    expect(
      await orbit.context.coalescer.run(
        'k',
        async () => undefined,
        async () => 'filled',
      ),
    ).toBe('filled');
    expect(unlistened).toEqual([]);
    await orbit.close();
    expect(unlistened.sort()).toEqual(listensOn[kind]);
    expect((await orbit.plugin.handle(new Request('http://host.test/health'))).status).toBe(200);
  } finally {
    await db.cleanup();
  }
});
