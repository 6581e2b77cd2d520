import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';

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
});
