import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { signIn, type UiClient } from './ui-helpers';

const STRANGER = basic('stranger', 'stranger-pw');

/** The answer with the repository's name taken out: what is left must not depend on whether it exists. */
async function shape(res: Response, name: string) {
  return { status: res.status, body: (await res.text()).replaceAll(name, 'NAME'), challenge: res.headers.get('www-authenticate') };
}

/**
 * An outsider must not learn which repository names exist: a missing repository and one they may not
 * read give the same status and the same words, on the admin API and in the UI, as /go/ does.
 */
describe.each(testDatabaseKinds())('no repository enumeration on %s', (dbKind) => {
  let t: TestApp;
  let strangerUi: UiClient;

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/repositories', { name: 'secret', type: 'hosted' })).status).toBe(201);
    expect((await t.api('POST', '/users', { username: 'stranger', password: 'stranger-pw' })).status).toBe(201);
    strangerUi = await signIn(t, 'stranger', 'stranger-pw');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const apiCases: [string, string, (name: string) => string, unknown][] = [
    ['GET', 'a repository', (n) => `/repositories/${n}`, undefined],
    ['PATCH', 'a repository', (n) => `/repositories/${n}`, { description: 'x' }],
    ['GET', 'its modules', (n) => `/repositories/${n}/modules`, undefined],
    ['GET', 'its versions', (n) => `/repositories/${n}/modules/versions?module=example.com/m`, undefined],
    ['DELETE', 'a version', (n) => `/repositories/${n}/modules/versions?module=example.com/m&version=v1.0.0`, undefined],
    ['GET', 'its grants', (n) => `/repositories/${n}/permissions`, undefined],
    ['GET', 'its tombstones', (n) => `/repositories/${n}/tombstones`, undefined],
    ['PUT', 'a grant', (n) => `/repositories/${n}/permissions/stranger`, { role: 'read' }],
    ['DELETE', 'the repository', (n) => `/repositories/${n}`, undefined],
  ];

  test.each(apiCases)(
    'admin API %s of %s: anonymous 401 and a stranger 403, the same words for missing and forbidden',
    async (method, _, path, body) => {
      for (const [auth, status] of [
        [null, 401],
        [STRANGER, 403],
      ] as const) {
        const forbidden = await shape(await t.api(method, path('secret'), body, auth), 'secret');
        const missing = await shape(await t.api(method, path('no-such-repo'), body, auth), 'no-such-repo');
        expect(forbidden.status).toBe(status);
        expect(missing).toEqual(forbidden);
      }
    },
  );

  test('an administrator is told the truth: 404 for a missing repository', async () => {
    const res = await t.api('GET', '/repositories/no-such-repo');
    expect(res.status).toBe(404);
  });

  test.each([
    ['the repository page', (n: string) => `/repositories/${n}`],
    ['a module page', (n: string) => `/repositories/${n}/module?module=example.com/m`],
    ['the edit form', (n: string) => `/repositories/${n}/edit`],
    ['the delete form', (n: string) => `/repositories/${n}/delete`],
  ])('UI %s: a signed-in stranger gets the same 403 page for missing and forbidden', async (_, path) => {
    const forbidden = await strangerUi.page(path('secret'));
    const missing = await strangerUi.page(path('no-such-repo'));
    expect(forbidden.status).toBe(403);
    expect(missing.status).toBe(403);
    expect(missing.html.replaceAll('no-such-repo', 'NAME')).toBe(forbidden.html.replaceAll('secret', 'NAME'));
  });

  test('UI: an anonymous visitor is sent to sign in for missing and forbidden alike', async () => {
    for (const name of ['secret', 'no-such-repo']) {
      const res = await t.request(`/repositories/${name}`);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(`/repositories/${name}`)}`);
    }
  });

  test('the go routes agree: 401 anonymous, 403 a stranger, the same words', async () => {
    for (const [auth, status] of [
      [null, 401],
      [STRANGER, 403],
    ] as const) {
      const forbidden = await shape(await t.request('/go/secret/example.com/m/@v/list', { auth }), 'secret');
      const missing = await shape(await t.request('/go/no-such-repo/example.com/m/@v/list', { auth }), 'no-such-repo');
      expect(forbidden.status).toBe(status);
      expect(missing).toEqual(forbidden);
    }
  });
});
