import { afterAll, beforeAll, describe, expect, spyOn, test } from 'bun:test';
import { ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { signIn, type UiClient } from './ui-helpers';

const BANNER = 'data-banner="default-password"';

describe('the default admin password banner', () => {
  let t: TestApp;
  let admin: UiClient;
  let reader: UiClient;
  beforeAll(async () => {
    // The server started as a fresh install would: no ORBITREPO_ADMIN_PASSWORD, so `admin` / `admin`.
    t = await startTestApp({ settings: { adminPassword: '' } });
    admin = await signIn(t, 'admin', 'admin');
    await t.ctx.users.create({ username: 'dora', password: 'dora-password-1' }, { username: 'test' });
    reader = await signIn(t, 'dora', 'dora-password-1');
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('an administrator sees the warning on every page, linking to the form that changes the password', async () => {
    for (const path of ['/', '/tokens', '/users']) {
      const { status, html } = await admin.page(path);
      expect(status).toBe(200);
      expect(html).toContain(BANNER);
      expect(html).toMatch(/data-banner="default-password">[\s\S]*<a href="\/users\/admin">Change it now<\/a>/);
    }
  });

  test('a user who is not an administrator is not shown it (they cannot change it)', async () => {
    const { status, html } = await reader.page('/');
    expect(status).toBe(200);
    expect(html).not.toContain(BANNER);
  });

  test('viewing pages does not check the password again (no argon2 per page view)', async () => {
    const verify = spyOn(Bun.password, 'verify');
    try {
      for (let i = 0; i < 3; i++) expect((await admin.page('/')).html).toContain(BANNER);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
  });

  test('a wrong new password is refused and the warning stays', async () => {
    expect((await admin.post('/users/admin', { isAdmin: 'on', password: 'x' })).status).toBe(400);
    expect((await admin.page('/')).html).toContain(BANNER);
  });

  test('changing the password through the form makes the warning go away at once', async () => {
    expect((await admin.post('/users/admin', { isAdmin: 'on', password: 'a-better-password' })).status).toBe(303);
    expect((await admin.page('/')).html).not.toContain(BANNER);
    expect(t.ctx.users.adminHasDefaultPassword()).toBe(false);
  });
});

describe('a server started with ORBITREPO_ADMIN_PASSWORD', () => {
  test(
    'shows no banner',
    async () => {
      const t = await startTestApp();
      try {
        const admin = await signIn(t, 'admin', ADMIN_PASSWORD);
        expect((await admin.page('/')).html).not.toContain(BANNER);
      } finally {
        await t.close();
      }
    },
    HANG_LIMIT_MS,
  );
});
