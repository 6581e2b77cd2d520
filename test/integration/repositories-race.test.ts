import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import postgres from 'postgres';
import { startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';

// Before the delete ran in one transaction with its check, a PATCH adding the repository to a group could land
// between the check and the delete, and the cascade then removed the new membership without a word.
describe.each(testDatabaseKinds())('deleting a repository while a group takes it in, on %s', (dbKind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  test('either the delete is refused and the group keeps it, or the repository is gone and the update is refused; never both accepted', async () => {
    const outcomes = new Set<string>();
    for (let i = 0; i < 8; i++) {
      expect((await t.api('POST', '/repositories', { name: `race-m${i}`, type: 'hosted' })).status).toBe(201);
      expect((await t.api('POST', '/repositories', { name: `race-g${i}`, type: 'group', members: [] })).status).toBe(201);
      const [patched, deleted] = await Promise.all([
        t.api('PATCH', `/repositories/race-g${i}`, { members: [`race-m${i}`] }),
        t.api('DELETE', `/repositories/race-m${i}`),
      ]);
      const group = await (await t.api('GET', `/repositories/race-g${i}`)).json();
      const member = await t.api('GET', `/repositories/race-m${i}`);
      if (patched.status === 200) {
        expect(deleted.status).toBe(409);
        expect(member.status).toBe(200);
        expect(group.members).toEqual([`race-m${i}`]);
      } else {
        expect(patched.status).toBe(400);
        expect(deleted.status).toBe(204);
        expect(member.status).toBe(404);
        expect(group.members).toEqual([]);
      }
      outcomes.add(`${patched.status}/${deleted.status}`);
    }
    expect([...outcomes].every((o) => o === '200/409' || o === '400/204')).toBe(true);
  }, 120_000);

  // The loop above rarely lands in the window by itself; here another session holds the member row, so the
  // delete is paused at its first lock and the group takes the member in meanwhile. Without the delete's
  // FOR UPDATE it would pass its group check at once, wait only at its DELETE, then cascade the new membership away.
  test.skipIf(dbKind !== 'postgres')(
    'a membership committed while the delete waits makes the delete refuse: the cascade never undoes it',
    async () => {
      expect((await t.api('POST', '/repositories', { name: 'held-m', type: 'hosted' })).status).toBe(201);
      expect((await t.api('POST', '/repositories', { name: 'held-g', type: 'group', members: [] })).status).toBe(201);
      const other = postgres(t.db.url!, { max: 1, onnotice: () => {} });
      try {
        const released = other.begin(async (tx) => {
          // KEY SHARE: what a foreign key check takes; it lets the group's membership through and holds the delete.
          await tx`select id from repositories where name = 'held-m' for key share`;
          const deleting = t.api('DELETE', '/repositories/held-m');
          const started = performance.now();
          while (
            (await tx`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)[0]
              .n === 0
          ) {
            if (performance.now() - started > HANG_LIMIT_MS) throw new Error('the delete never waited for the held row');
            await Bun.sleep(20);
          }
          const patched = await t.api('PATCH', '/repositories/held-g', { members: ['held-m'] });
          return { patched, deleting };
        });
        const { patched, deleting } = await released;
        const deleted = await deleting;
        expect(patched.status).toBe(200);
        expect(deleted.status).toBe(409);
        expect((await deleted.json()).message).toContain('is a member of group "held-g"');
        expect((await (await t.api('GET', '/repositories/held-g')).json()).members).toEqual(['held-m']);
        expect((await t.api('GET', '/repositories/held-m')).status).toBe(200);
      } finally {
        await other.end();
      }
    },
    HANG_LIMIT_MS,
  );
});
