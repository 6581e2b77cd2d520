import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { InvalidZipError } from '../../src/goproxy/errors';
import { checkModuleZip, readerFromBytes } from '../../src/goproxy/zip-check';
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

interface Probe {
  name: string;
  method?: string;
  path: string;
  auth?: string | null;
  headers?: Record<string, string>;
  body?: string;
  /** Statuses that are a correct refusal. */
  refused: number[];
}

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
  const credentials: [string, string | null, number[]][] = [
    ['no credentials', null, [401]],
    ['a wrong password', basic('alice', 'wrong-password'), [401, 429]],
    ['an unknown user', basic('nobody', 'alice-password'), [401, 429]],
    ['an empty user and password', basic('', ''), [401, 429]],
    ['Basic without a colon', `Basic ${Buffer.from('alice').toString('base64')}`, [401]],
    ['Basic that is not base64', 'Basic !!!not-base64!!!', [401]],
    ['a junk bearer token', 'Bearer orb_0000000000000000000000000000000000000000000', [401, 429]],
    ['a bearer that is a password', 'Bearer alice-password', [401, 429]],
    ["alice's token under another name", basic('mallory', aliceToken), [401, 429]],
    ['an unsupported scheme', 'Digest username="alice"', [401]],
    ['a user with no grant', MALLORY, [403]],
    ['a SQL-ish user name', basic("admin' OR '1'='1", 'x'), [401, 429]],
    ['a NUL in the user name', basic('admin\u0000', 'admin-test-pw'), [401, 429]],
    ['the admin name in upper case', basic('ADMIN', 'wrong'), [401, 429]],
  ];
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

/** Against an anonymous-read repository, so that only the path parser stands between the probe and the disk. */
function pathProbes(): Probe[] {
  // 401: a dot-segment path is normalised by the URL parser into another repository's name, which asks for credentials.
  const bad = [400, 401, 404, 405, 410];
  const paths = [
    '../../../../etc/passwd',
    `${PUBLIC_MOD}/@v/../../../../../etc/passwd`,
    `${PUBLIC_MOD}/@v/..%2f..%2f..%2fetc%2fpasswd`,
    `${PUBLIC_MOD}/@v/%2e%2e/%2e%2e/list`,
    `${PUBLIC_MOD}%2f..%2f..%2f/@v/list`,
    `${PUBLIC_MOD}/@v/v1.0.0.zip%00.info`,
    `${PUBLIC_MOD}/@v/v1.0.0%5c..%5c..%5cinfo`,
    `${PUBLIC_MOD}\\..\\..\\@v\\list`,
    'example.com/Open/@v/list',
    'example.com/caf%C3%A9/@v/list',
    'example.com/%F0%9F%98%80/@v/list',
    'example.com/!/@v/list',
    'example.com/!!open/@v/list',
    'example.com//open/@v/list',
    'example.com/open//@v/list',
    'example.com/open/@v//list',
    '-example.com/open/@v/list',
    'example.com/open./@v/list',
    'example.com/.open/@v/list',
    'example.com/con/@v/list',
    'example.com/open~1/@v/list',
    `example.com/${'a'.repeat(5000)}/@v/list`,
    `${PUBLIC_MOD}/@v/${'v1.0.0-'.padEnd(3000, 'a')}.info`,
    `${PUBLIC_MOD}/@v/V1.0.0.info`,
    `${PUBLIC_MOD}/@v/v1.0.0.exe`,
    `${PUBLIC_MOD}/@v/v1.0.0`,
    `${PUBLIC_MOD}/@v/`,
    `${PUBLIC_MOD}/@v/list/extra`,
    `${PUBLIC_MOD}/@latest/x`,
    `${PUBLIC_MOD}`,
    '@v/list',
    'sumdb/../../etc/passwd',
    'sumdb/sumdb.example/../../../etc/passwd',
    'sumdb/evil.example.com/supported',
    `${PUBLIC_MOD}/@v/v1.0.0.info;.zip`,
    `${PUBLIC_MOD}/@v/v1.0.0.info%`,
    `${PUBLIC_MOD}/@v/v1.0.0.info%zz`,
    `${PUBLIC_MOD}/@v/v1.0.0+incompatible.info`,
    `${PUBLIC_MOD}/@v/v2.0.0.info`,
    `${PUBLIC_MOD}/@v/v1.0.0.info\r\nX-Injected: 1`,
  ];
  const probes: Probe[] = paths.map((p) => ({ name: `GET /go/public/${p}`, path: `/go/public/${p}`, refused: bad }));
  for (const method of ['POST', 'PATCH', 'DELETE', 'OPTIONS']) {
    probes.push({ name: `${method} on the go protocol`, method, path: `/go/public/${PUBLIC_MOD}/@v/list`, refused: [405] });
  }
  probes.push({
    name: 'anonymous upload to a public repository',
    method: 'PUT',
    path: `/go/public/${PUBLIC_MOD}/@v/v1.0.1.mod`,
    body: 'x',
    refused: [401],
  });
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
      const text = await res.text();
      if (res.status < 400 || text.includes('TOP-SECRET-VALUE') || text.includes('root:')) {
        figures.lost++;
        figures.wrong.push(`LOST ${p.name}: ${res.status}`);
      } else if (p.refused.includes(res.status) || (res.status === 429 && !!p.auth)) {
        // 429: the corpus guesses a lot from one address, and the throttle slows every credential from it but tokens.
        figures.refusedCorrectly++;
        if (res.status === 429 && !res.headers.get('retry-after')) figures.wrong.push(`${p.name}: 429 without Retry-After`);
      } else {
        figures.wrong.push(`${p.name}: ${res.status} (expected ${p.refused.join('/')}) ${text.slice(0, 120).trim()}`);
      }
    }
    report(label, figures);
    return figures;
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
      const reason = (await res.text()).trim();
      // Afterwards: `shown` is the version served in any form (lost); `odd` an answer other than absent (wrong).
      const shown: string[] = [];
      const odd: string[] = [];
      const list = await t.request(`${base}list`, { auth: publisher });
      const listed = await list.text();
      if (list.status < 300 && listed.split('\n').includes(c.version)) shown.push('list');
      else if (list.status >= 300 && list.status !== 404) odd.push(`list ${list.status}`);
      for (const kind of ['info', 'mod', 'zip']) {
        const file = await t.request(`${base}${c.version}.${kind}`, { auth: publisher });
        await file.arrayBuffer();
        if (file.status < 300) shown.push(`.${kind} ${file.status}`);
        else if (file.status !== 404) odd.push(`.${kind} ${file.status}`);
      }
      if (res.status < 300 || shown.length > 0) {
        figures.lost++;
        figures.wrong.push(`LOST ${c.id}: upload ${res.status}, served afterwards: ${shown.join(', ') || 'nothing'}`);
        continue;
      }
      const expected = await checkModuleZip(readerFromBytes(c.zip), c.module, c.version).then(
        () => undefined,
        (err: unknown) => err as InvalidZipError,
      );
      // The checker's own words, or (where the server says it another way, as for a zip of another module) the entry it named.
      const explained =
        expected instanceof InvalidZipError &&
        (reason.includes(expected.message) || (!!expected.entry && reason.includes(JSON.stringify(expected.entry))));
      if (res.status === 400 && explained && !reason.includes('\n') && odd.length === 0) figures.refusedCorrectly++;
      else
        figures.wrong.push(
          `${c.id}: ${res.status} "${reason.slice(0, 160)}" (checker: ${expected?.message}); afterwards ${odd.join(', ')}`,
        );
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
    const figures = await run('path attacks', pathProbes());
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
