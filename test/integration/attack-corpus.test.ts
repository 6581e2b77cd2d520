import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  badCredentials,
  judgeBadZipUpload,
  judgeProbe,
  type Probe,
  pathAttacks,
  servedAfterRefusal,
  type Verdict,
  withAftermath,
} from '../fixtures/attack-probes';
import { type InvalidZipCase, invalidZipCorpus } from '../fixtures/invalid-module-zips';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';

/**
 * A bounded corpus of auth probes, path attacks and bad module zips, driven through app.handle (no port,
 * nothing leaves the process). Each probe has the answers that count as a correct refusal; an answer that
 * lets the probe through (a 2xx with the private bytes, a file outside the protocol, a bad zip accepted or
 * visible afterwards) is "lost", and lost must stay 0. Anything else (a 500, a 404 where a 401 belongs, a
 * refusal without its reason) fails the test too. The figures are printed.
 */

const MOD = 'example.com/secret';
const PUBLIC_MOD = 'example.com/open';
const ALICE = basic('alice', 'alice-password');
const MALLORY = basic('mallory', 'mallory-password');
/** In a probe's answer, proof that it got through: the private module's source, /etc/passwd. */
const SECRETS = ['TOP-SECRET-VALUE', 'root:'];

interface Figures {
  tried: number;
  refusedCorrectly: number;
  lost: number;
  wrong: string[];
}

const PRIVATE_PATHS = [
  `/go/private/${MOD}/@v/list`,
  `/go/private/${MOD}/@latest`,
  `/go/private/${MOD}/@v/v1.0.0.info`,
  `/go/private/${MOD}/@v/v1.0.0.mod`,
  `/go/private/${MOD}/@v/v1.0.0.zip`,
  `/go/private/${MOD}/@v/v9.9.9.zip`,
  `/go/private/sumdb/sumdb.example/supported`,
  `/go/nosuchrepo/${MOD}/@v/list`,
  '/api/v1/repositories/private',
  '/api/v1/repositories/private/modules',
  `/api/v1/repositories/private/modules/versions?module=${MOD}`,
  '/api/v1/repositories/private/permissions',
  '/api/v1/repositories/nosuchrepo',
  '/api/v1/users',
  '/api/v1/users/admin',
  '/api/v1/users/admin/tokens',
];

function authProbes(aliceToken: string): Probe[] {
  const credentials = badCredentials(
    { username: 'alice', password: 'alice-password', token: aliceToken },
    { username: 'mallory', password: 'mallory-password' },
  );
  const probes: Probe[] = [];
  for (const path of PRIVATE_PATHS) {
    for (const [name, auth, refused] of credentials) {
      // Admin-only routes refuse a user with no grant with 403; repository routes the same (no enumeration).
      probes.push({ name: `${name}: GET ${path}`, path, auth, refused });
    }
  }
  // Writes: never through, whatever the body or content type.
  const writes: [string, string, string, Record<string, string>, string][] = [
    [
      'POST',
      '/api/v1/repositories',
      'a form post (CSRF shape) with admin credentials',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'name=evil&type=hosted',
    ],
    [
      'POST',
      '/api/v1/users',
      'a text/plain post (CSRF shape) with admin credentials',
      { 'content-type': 'text/plain' },
      '{"username":"evil","password":"evil-pw"}',
    ],
    ['POST', '/api/v1/repositories', 'a bodiless post with admin credentials', {}, ''],
  ];
  for (const [method, path, name, headers, body] of writes) {
    probes.push({ name, method, path, auth: ADMIN_AUTH, headers, body: body || undefined, refused: [400, 415] });
  }
  for (const [name, auth] of [
    ['anonymous', null],
    ['a user with no grant', MALLORY],
    ['a reader', ALICE],
  ] as const) {
    const refused = auth === null ? [401] : [403];
    const json = { 'content-type': 'application/json' };
    probes.push({
      name: `${name}: create a repository`,
      method: 'POST',
      path: '/api/v1/repositories',
      auth,
      headers: json,
      body: '{"name":"evil","type":"hosted"}',
      refused,
    });
    probes.push({
      name: `${name}: make themselves admin`,
      method: 'PATCH',
      path: '/api/v1/users/alice',
      auth,
      headers: json,
      body: '{"isAdmin":true}',
      refused,
    });
    probes.push({
      name: `${name}: grant themselves write`,
      method: 'PUT',
      path: '/api/v1/repositories/private/permissions/alice',
      auth,
      headers: json,
      body: '{"role":"write"}',
      refused,
    });
    probes.push({
      name: `${name}: delete a version`,
      method: 'DELETE',
      path: `/api/v1/repositories/private/modules/versions?module=${MOD}&version=v1.0.0`,
      auth,
      refused,
    });
    probes.push({
      name: `${name}: upload over a version`,
      method: 'PUT',
      path: `/go/private/${MOD}/@v/v1.0.1.mod`,
      auth,
      body: `module ${MOD}\n`,
      refused,
    });
  }
  return probes;
}

describe.each(testDatabaseKinds())('attack corpus on %s', (dbKind) => {
  let t: TestApp;
  let aliceToken: string;
  let publisher: string;
  let secretZip: ReturnType<typeof buildModuleZip>;

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    for (const body of [
      { name: 'private', type: 'hosted' },
      { name: 'public', type: 'hosted', anonymousRead: true },
    ]) {
      expect((await t.api('POST', '/repositories', body)).status).toBe(201);
    }
    expect((await t.api('POST', '/users', { username: 'alice', password: 'alice-password' })).status).toBe(201);
    expect((await t.api('POST', '/users', { username: 'mallory', password: 'mallory-password' })).status).toBe(201);
    expect((await t.api('PUT', '/repositories/private/permissions/alice', { role: 'read' })).status).toBe(200);
    aliceToken = (await (await t.api('POST', '/tokens', { name: 'ci' }, ALICE)).json()).token;
    // The publisher of the bad zips signs in with a token: the auth probes' guessing slows passwords from this address.
    publisher = basic('admin', (await (await t.api('POST', '/tokens', { name: 'publisher' })).json()).token);
    secretZip = buildModuleZip(MOD, 'v1.0.0', {
      'go.mod': `module ${MOD}\n`,
      'secret.go': 'package secret\n\nconst Key = "TOP-SECRET-VALUE"\n',
    });
    const openZip = buildModuleZip(PUBLIC_MOD, 'v1.0.0', { 'go.mod': `module ${PUBLIC_MOD}\n`, 'open.go': 'package open\n' });
    expect((await t.request(`/go/private/${MOD}/@v/v1.0.0.zip`, { method: 'PUT', body: secretZip, auth: ADMIN_AUTH })).status).toBe(201);
    expect((await t.request(`/go/public/${PUBLIC_MOD}/@v/v1.0.0.zip`, { method: 'PUT', body: openZip, auth: ADMIN_AUTH })).status).toBe(
      201,
    );
    // Generous: on a loaded shared machine the set-up (password hashing, two uploads) has taken minutes.
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  });

  async function run(label: string, probes: Probe[]): Promise<Figures> {
    const figures: Figures = { tried: 0, refusedCorrectly: 0, lost: 0, wrong: [] };
    for (const p of probes) {
      figures.tried++;
      let res: Response;
      try {
        res = await t.request(p.path, { method: p.method ?? 'GET', auth: p.auth ?? null, headers: p.headers, body: p.body });
      } catch {
        // A URL the Request constructor itself refuses never reaches the server: refused before it could be sent.
        figures.refusedCorrectly++;
        continue;
      }
      tally(figures, judgeProbe(p, res.status, res.headers.get('retry-after'), await res.text(), SECRETS));
    }
    report(label, figures);
    return figures;
  }

  function tally(figures: Figures, verdict: Verdict): void {
    if (verdict.kind === 'refused') figures.refusedCorrectly++;
    else {
      if (verdict.kind === 'lost') figures.lost++;
      figures.wrong.push(verdict.why);
    }
  }

  function report(label: string, figures: Figures): void {
    console.log(
      `[attack corpus, ${dbKind}] ${label}: tried ${figures.tried} / refused correctly ${figures.refusedCorrectly} / lost ${figures.lost}`,
    );
  }

  /**
   * Each bad zip PUT as the go command's tools upload one, by a caller allowed to publish: refused with
   * 400 and the reason the zip checker gives for it, and nothing of the version visible afterwards.
   */
  async function runBadZips(repo: string, cases: InvalidZipCase[]): Promise<Figures> {
    const figures: Figures = { tried: 0, refusedCorrectly: 0, lost: 0, wrong: [] };
    for (const c of cases) {
      figures.tried++;
      const base = `/go/${repo}/${c.module}/@v/`;
      const res = await t.request(`${base}${c.version}.zip`, { method: 'PUT', body: c.zip as Uint8Array<ArrayBuffer>, auth: publisher });
      const upload = await judgeBadZipUpload(c, res.status, await res.text());
      const after = await servedAfterRefusal((path) => t.request(path, { auth: publisher }), base, c.version);
      tally(figures, withAftermath(c, upload, after));
    }
    report('bad zips', figures);
    return figures;
  }

  // Its own limit: 242 probes, many of them password checks, take longer than bun's 5 s when the file runs alone.
  test(
    'every auth probe is refused with 401, 403, 429 (with Retry-After), 400 or 415 as it should be, and none gets through',
    async () => {
      const figures = await run('auth probes', authProbes(aliceToken));
      expect(figures.wrong).toEqual([]);
      expect(figures.lost).toBe(0);
      expect(figures.refusedCorrectly).toBe(figures.tried);
      // Nothing was created, granted or deleted by the probes.
      expect((await t.ctx.repositories.list()).map((r) => r.name).sort()).toEqual(['private', 'public']);
      expect((await t.ctx.users.get('alice')).isAdmin).toBe(false);
    },
    HANG_LIMIT_MS,
  );

  test('every path attack is refused with 400, 404, 405 or 401, and none reads a file outside the protocol', async () => {
    const figures = await run('path attacks', pathAttacks('public', PUBLIC_MOD));
    expect(figures.wrong).toEqual([]);
    expect(figures.lost).toBe(0);
    expect(figures.refusedCorrectly).toBe(figures.tried);
  });

  // Sent whole as real uploads through the HTTP handler (the unit tests only hand them to the checker).
  test(
    'every bad module zip uploaded to a hosted repository is refused with 400 and its reason, and leaves no version behind',
    async () => {
      const figures = await runBadZips('private', invalidZipCorpus());
      expect(figures.wrong).toEqual([]);
      expect(figures.lost).toBe(0);
      expect(figures.refusedCorrectly).toBe(figures.tried);
      expect(figures.tried).toBe(invalidZipCorpus().length);
    },
    HANG_LIMIT_MS,
  );

  // The guessing above slowed password sign-in from this address; a valid token is never slowed.
  test('the rightful reader still gets the private zip afterwards with a token, from the same address', async () => {
    const res = await t.request(`/go/private/${MOD}/@v/v1.0.0.zip`, { auth: basic('alice', aliceToken) });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(secretZip);
  });
});
