import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { signIn, type UiClient } from './ui-helpers';

/** A body that never ends: only a server that stops reading at its limit answers at all. */
function endless(): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  return new ReadableStream({ pull: (c) => c.enqueue(chunk) });
}

describe.each(testDatabaseKinds())('request bodies on %s', (dbKind) => {
  let t: TestApp;
  let ui: UiClient;
  const post = (path: string, init: RequestInit & { auth?: string | null } = {}) =>
    t.request(`/api/v1${path}`, { method: 'POST', auth: ADMIN_AUTH, ...init });

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    ui = await signIn(t, 'admin', 'admin-test-pw');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  describe('the admin API takes JSON only', () => {
    // A cross-site HTML form can send these three with the browser's cached Basic credentials; JSON it cannot.
    test.each([
      ['application/x-www-form-urlencoded', 'name=csrf1&type=hosted'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\ncsrf2\r\n--x--\r\n'],
      ['text/plain', '{"name":"csrf3","type":"hosted"}'],
    ])('a %s write is refused with 415 and a reason, and changes nothing', async (type, body) => {
      const res = await post('/repositories', { headers: { 'content-type': type }, body });
      expect(res.status).toBe(415);
      expect(await res.json()).toEqual({
        error: 'unsupported_media_type',
        message: `the admin API takes JSON bodies only: send Content-Type: application/json (this request said ${type.split(';')[0]})`,
      });
      expect((await t.ctx.repositories.list()).map((r) => r.name)).not.toContain('csrf1');
    });

    test('a JSON body with a charset parameter is fine', async () => {
      const res = await post('/repositories', {
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ name: 'charset-ok', type: 'hosted' }),
      });
      expect(res.status).toBe(201);
    });

    test.each([
      ['no body at all', {}, 400, 'the request has no body: send a JSON object with Content-Type: application/json'],
      ['an empty JSON body', { headers: { 'content-type': 'application/json' }, body: '' }, 400, 'the request has no body'],
      ['JSON cut short', { headers: { 'content-type': 'application/json' }, body: '{"name":' }, 400, 'the request body is not valid JSON'],
      [
        'bytes that are not UTF-8',
        { headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0xff, 0x7d]) },
        400,
        'not valid UTF-8',
      ],
    ])('%s is a 400 that says so', async (_, init, status, message) => {
      const res = await post('/repositories', init as RequestInit);
      expect(res.status).toBe(status);
      expect((await res.json()).message).toContain(message);
    });

    test('a declared body over 1 MiB is refused with 413 naming the limit, before the caller is even known', async () => {
      const res = await post('/repositories', {
        auth: null,
        headers: { 'content-type': 'application/json', 'content-length': String(300 * 1024 * 1024) },
        body: '{}',
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        error: 'payload_too_large',
        message: 'the request body is larger than the 1 MiB limit for admin API requests',
      });
    });

    test('a chunked body is read no further than the limit', async () => {
      const res = await post('/users', { auth: null, headers: { 'content-type': 'application/json' }, body: endless() });
      expect(res.status).toBe(413);
      expect((await res.json()).message).toContain('1 MiB limit');
    });

    test('a DELETE needs no body', async () => {
      expect((await t.api('POST', '/repositories', { name: 'to-delete', type: 'hosted' })).status).toBe(201);
      expect((await t.request('/api/v1/repositories/to-delete', { method: 'DELETE', auth: ADMIN_AUTH })).status).toBe(204);
    });

    test('a 401 from the admin API never carries a Basic challenge, so a browser never prompts for it', async () => {
      for (const auth of [null, basic('admin', 'wrong-password'), 'Bearer orb_0000000000000000000000000000000000000000000']) {
        const res = await t.request('/api/v1/users/me', { auth });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="OrbitRepos"');
      }
      const go = await t.request('/go/nowhere/example.com/m/@v/list');
      expect(go.status).toBe(401);
      expect(go.headers.get('www-authenticate')).toContain('Basic realm="OrbitRepos"');
    });
  });

  describe('unknown fields are refused on every create and update', () => {
    beforeAll(async () => {
      expect((await t.api('POST', '/repositories', { name: 'fields', type: 'hosted' })).status).toBe(201);
      expect((await t.api('POST', '/users', { username: 'fieldy', password: 'fieldy-pw' })).status).toBe(201);
    });

    test.each([
      ['POST', '/repositories', { name: 'typo', type: 'hosted', descripton: 'x' }, 'descripton'],
      ['PATCH', '/repositories/fields', { descripton: 'x' }, 'descripton'],
      ['POST', '/users', { username: 'typo', password: 'typo-pw', admin: true }, 'admin'],
      ['PATCH', '/users/fieldy', { disable: true }, 'disable'],
      ['PUT', '/users/me/password', { currentPassword: 'admin-test-pw', newPassword: 'x-long-enough', force: true }, 'force'],
      ['POST', '/tokens', { name: 'ci', expires: '2030-01-01T00:00:00Z' }, 'expires'],
      ['PUT', '/repositories/fields/permissions/fieldy', { role: 'read', until: 'never' }, 'until'],
    ])('%s %s with an unknown field is a 400 naming it', async (method, path, body, field) => {
      const res = await t.api(method, path, body);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toStartWith(`invalid request: unknown field "${field}" (the fields are: `);
    });

    test('nothing was created or changed by the refused requests', async () => {
      const names = (await t.ctx.repositories.list()).map((r) => r.name);
      expect(names).not.toContain('typo');
      expect((await t.ctx.repositories.get('fields')).description).toBe('');
      expect(await t.ctx.users.byName('typo')).toBeFalsy();
    });
  });

  // Elysia's t.Integer takes "30" as 30; a JSON body is refused instead, as on the cleanup-policy routes.
  describe('a field of the wrong JSON type is refused, never coerced', () => {
    beforeAll(async () => {
      expect((await t.api('POST', '/repositories', { name: 'typed', type: 'proxy', remoteUrl: 'http://127.0.0.1:9/' })).status).toBe(201);
      expect((await t.api('POST', '/users', { username: 'typed', password: 'typed-pw' })).status).toBe(201);
    });

    test.each([
      [
        'POST',
        '/repositories',
        { name: 'coerced', type: 'hosted', anonymousRead: 'true' },
        'anonymousRead must be true or false, not "true"',
      ],
      [
        'PATCH',
        '/repositories/typed',
        { settings: { metadataTtlSeconds: '30' } },
        'settings.metadataTtlSeconds must be a whole number or null, not "30"',
      ],
      ['PATCH', '/repositories/typed', { description: 5 }, 'description must be a string, not 5'],
      ['PATCH', '/repositories/typed', { anonymousRead: 0 }, 'anonymousRead must be true or false, not 0'],
      ['PATCH', '/repositories/typed', { writePolicy: 1 }, 'writePolicy must be one of "allow_once", "allow", "deny", not 1'],
      ['PATCH', '/repositories/typed', { excludePaths: ['corp.example', 7] }, 'excludePaths[1] must be a string, not 7'],
      ['POST', '/users', { username: 'coerced', password: 'coerced-pw', isAdmin: 'true' }, 'isAdmin must be true or false, not "true"'],
      ['PATCH', '/users/typed', { disabled: 'false' }, 'disabled must be true or false, not "false"'],
      ['POST', '/tokens', { name: 'ci', expiresAt: 1893456000 }, 'expiresAt must be a string or null, not 1893456000'],
      ['PUT', '/repositories/typed/permissions/typed', { role: ['read'] }, 'role must be one of "read", "write", "admin", not an array'],
      ['POST', '/maintenance/gc', { dryRun: 'true' }, 'dryRun must be true or false, not "true"'],
      ['POST', '/repositories/typed/cleanup', { dryRun: 1 }, 'dryRun must be true or false, not 1'],
      [
        'PUT',
        '/repositories/typed/cleanup-policy',
        { unusedDays: '3' },
        'unusedDays must be a whole number from 1 to 100000 or null, not "3"',
      ],
      ['POST', '/repositories', ['coerced'], 'the body must be a JSON object, not an array'],
    ])('%s %s %j is a 400 naming the field', async (method, path, body, message) => {
      const res = await t.api(method, path, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'bad_request', message: `invalid request: ${message}` });
    });

    test('nothing was created or changed by the refused requests', async () => {
      expect((await t.ctx.repositories.list()).map((r) => r.name)).not.toContain('coerced');
      const typed = await t.ctx.repositories.get('typed');
      expect(typed.settings).not.toHaveProperty('metadataTtlSeconds');
      expect(typed.anonymousRead).toBe(true);
      expect(await t.ctx.users.byName('coerced')).toBeFalsy();
      expect((await t.ctx.users.get('typed')).disabled).toBe(false);
      expect((await (await t.api('GET', '/repositories/typed/cleanup-policy')).json()).unusedDays).toBeNull();
    });
  });

  describe('field lengths are bounded', () => {
    test.each([
      ['a description bigger than the 1 MiB body limit is a 413', { name: 'big', type: 'hosted', description: 'x'.repeat(1_100_000) }, 413],
      ['a description over 1000 characters', { name: 'long', type: 'hosted', description: 'x'.repeat(1001) }, 400],
      ['a name over 64 characters', { name: 'n'.repeat(65), type: 'hosted' }, 400],
      ['a remoteUrl over 2048 characters', { name: 'p', type: 'proxy', remoteUrl: `http://127.0.0.1:9/${'a'.repeat(2048)}` }, 400],
      ['more than 100 group members', { name: 'g', type: 'group', members: Array.from({ length: 101 }, (_, i) => `m${i}`) }, 400],
    ])('%s', async (_, body, status) => {
      const res = await t.api('POST', '/repositories', body);
      expect(res.status).toBe(status);
      expect((await t.ctx.repositories.list()).map((r) => r.name)).not.toContain(body.name);
    });

    test('a description of exactly 1000 characters is kept', async () => {
      expect((await t.api('POST', '/repositories', { name: 'max-desc', type: 'hosted', description: 'd'.repeat(1000) })).status).toBe(201);
    });

    test('the UI refuses a long description on the form, as the API does', async () => {
      const html = await ui.page('/repositories/new?type=hosted');
      expect(html.status).toBe(200);
      const res = await ui.post('/repositories', { format: 'go', type: 'hosted', name: 'ui-long', description: 'x'.repeat(1001) });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('description must be at most 1000 characters');
    });
  });

  describe('UI forms', () => {
    // These answered 500 before: a form post is a form, or a 400 that says what to do.
    test.each([
      ['/login', undefined, undefined, 'the form arrived empty'],
      ['/logout', undefined, undefined, 'the form arrived empty'],
      ['/tokens', undefined, undefined, 'the form arrived empty'],
      ['/login', 'application/json', '{}', 'send it as a normal HTML form (this request was application/json)'],
      ['/tokens', 'text/plain', 'name=x', 'send it as a normal HTML form (this request was text/plain)'],
    ])('POST %s with content type %p is a 400 with a reason', async (path, type, body, reason) => {
      const res = await t.request(path, { method: 'POST', headers: type ? { 'content-type': type } : {}, body });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(reason);
    });

    test('a 300 MB sign-in form is a 413 naming the limit, answered without reading it', async () => {
      const res = await t.request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(300 * 1024 * 1024) },
        body: 'username=a',
      });
      expect(res.status).toBe(413);
      expect(await res.text()).toContain('the request body is larger than the 1 MiB limit for forms');
      const chunked = await t.request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: endless(),
      });
      expect(chunked.status).toBe(413);
    });
  });
});
