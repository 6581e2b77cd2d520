import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { csrfOf, form, setCookie, signIn } from './ui-helpers';

describe('web UI sign-in under a mount prefix', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ prefix: '/artifacts' });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  async function loginForm() {
    const res = await t.request('/login');
    return { cookie: setCookie(res, 'orbit_login_csrf')!.split(';')[0], csrf: csrfOf(await res.text()) };
  }

  const postLogin = (cookie: string | null, fields: Record<string, string>) =>
    t.request('/login', {
      method: 'POST',
      headers: { ...(cookie ? { cookie } : {}), 'content-type': 'application/x-www-form-urlencoded' },
      body: form(fields).toString(),
    });

  test('a page asked for without a session redirects to the sign-in form, keeping where it was going', async () => {
    const res = await t.request('/tokens');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/artifacts/login?next=%2Fartifacts%2Ftokens');
  });

  test('the sign-in form has labelled username and password fields and posts to the prefixed path', async () => {
    const html = await (await t.request('/login')).text();
    expect(html).toContain('action="/artifacts/login"');
    expect(html).toContain('<label for="username">Username</label>');
    expect(html).toContain('<label for="password">Password</label>');
    expect(html).toContain('href="/artifacts/ui-assets/ui.css?v=');
  });

  test('signing in sets an HttpOnly, SameSite=Strict session cookie scoped to the prefix, without Secure over plain HTTP', async () => {
    const { cookie, csrf } = await loginForm();
    const res = await postLogin(cookie, { _csrf: csrf, username: 'admin', password: ADMIN_PASSWORD, next: '/artifacts/tokens' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/artifacts/tokens');
    const session = setCookie(res, 'orbit_session')!;
    expect(session).toContain('HttpOnly');
    expect(session).toContain('SameSite=Strict');
    expect(session).toContain('Path=/artifacts');
    expect(session).not.toContain('Secure');
  });

  test('a wrong password shows the form again with 401 and a message, and sets no session', async () => {
    const { cookie, csrf } = await loginForm();
    const res = await postLogin(cookie, { _csrf: csrf, username: 'admin', password: 'nope-nope' });
    expect(res.status).toBe(401);
    expect(setCookie(res, 'orbit_session')).toBeUndefined();
    const html = await res.text();
    expect(html).toContain('invalid username or password');
    expect(html).toContain('value="admin"');
  });

  // Login CSRF: another site must not be able to sign a visitor in to an account of its choosing.
  test('a sign-in without the login CSRF cookie, or with a token that does not match it, is refused with 403', async () => {
    const { cookie, csrf } = await loginForm();
    expect((await postLogin(null, { _csrf: csrf, username: 'admin', password: ADMIN_PASSWORD })).status).toBe(403);
    expect((await postLogin(cookie, { _csrf: 'forged', username: 'admin', password: ADMIN_PASSWORD })).status).toBe(403);
  });

  test.each([
    ['another site', 'https://evil.example/'],
    ['a protocol-relative address', '//evil.example/'],
    ['a path outside the prefix', '/elsewhere'],
  ])('after signing in, `next` pointing to %s goes home instead', async (_, next) => {
    const { cookie, csrf } = await loginForm();
    const res = await postLogin(cookie, { _csrf: csrf, username: 'admin', password: ADMIN_PASSWORD, next });
    expect(res.headers.get('location')).toBe('/artifacts/');
  });

  test('an API token is not accepted as a password for the web UI', async () => {
    const created = await t.api('POST', '/tokens', { name: 'ci' }, ADMIN_AUTH);
    const { token } = await created.json();
    const { cookie, csrf } = await loginForm();
    const res = await postLogin(cookie, { _csrf: csrf, username: 'admin', password: token });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('API tokens are for the go command');
  });

  test('signing out ends the session on the server: the old cookie no longer opens pages', async () => {
    const ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    expect((await ui.get('/')).status).toBe(200);
    const out = await ui.post('/logout', {});
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/artifacts/login');
    expect(setCookie(out, 'orbit_session')).toContain('Max-Age=0');
    expect((await ui.get('/')).status).toBe(303);
  });

  test('a disabled user is signed out of the UI at once', async () => {
    await t.api('POST', '/users', { username: 'dora', password: 'dora-pw-1' });
    const ui = await signIn(t, 'dora', 'dora-pw-1');
    expect((await ui.get('/')).status).toBe(200);
    await t.api('PATCH', '/users/dora', { disabled: true });
    expect((await ui.get('/')).status).toBe(303);
  });

  test('the UI assets are served by this server with their types, cacheable for good when versioned', async () => {
    const html = await (await t.request('/login')).text();
    const js = /src="\/artifacts(\/ui-assets\/ui\.js\?v=[0-9a-f]+)"/.exec(html)![1];
    const res = await t.request(js);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toStartWith('text/javascript');
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect((await t.request('/ui-assets/ui.css')).headers.get('content-type')).toStartWith('text/css');
    expect((await t.request('/ui-assets/../../package.json')).status).toBe(404);
  });

  test('pages carry a content security policy that allows no inline script and no other origin', async () => {
    const res = await t.request('/login');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('web UI cookies under TLS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ settings: { secureCookies: true } });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('with secure cookies on, the session cookie is Secure and scoped to /', async () => {
    const page = await t.request('/login');
    expect(setCookie(page, 'orbit_login_csrf')).toContain('Secure');
    const res = await t.request('/login', {
      method: 'POST',
      headers: { cookie: setCookie(page, 'orbit_login_csrf')!.split(';')[0], 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ _csrf: csrfOf(await page.text()), username: 'admin', password: ADMIN_PASSWORD }).toString(),
    });
    const session = setCookie(res, 'orbit_session')!;
    expect(session).toContain('Secure');
    expect(session).toContain('Path=/;');
    expect(session).toContain('HttpOnly');
    expect(session).toContain('SameSite=Strict');
  });
});
