import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';

// An action that is a database write and its audit entry commit together: when the entry cannot be
// written (here a trigger refuses it as an overloaded server would), the action does not happen.
for (const kind of testDatabaseKinds()) {
  describe(`audit entries in the action's transaction (${kind})`, () => {
    let t: TestApp;
    const mod = 'example.com/audit/atomic';
    const exec = (q: ReturnType<typeof sql>) => t.db.handle.db.execute(q);
    const publish = (v: string) =>
      t.request(`/go/atomic/${mod}/@v/${v}.zip`, {
        method: 'PUT',
        auth: ADMIN_AUTH,
        body: buildModuleZip(mod, v, { 'go.mod': `module ${mod}\n`, 'a.go': 'package atomic\n' }),
      });
    const auditCount = async (action: string) => {
      const res = await exec(sql`select count(*)::int as n from audit_log where action = ${action}`);
      const rows = (Array.isArray(res) ? res : (res as { rows: { n: number }[] }).rows) as { n: number }[];
      return Number(rows[0].n);
    };
    const refuseAudit = async () => {
      await exec(
        sql.raw(`create or replace function refuse_audit() returns trigger as $$
          begin raise exception 'audit log unavailable' using errcode = '53300'; end $$ language plpgsql`),
      );
      await exec(sql.raw('create trigger refuse_audit before insert on audit_log for each row execute function refuse_audit()'));
    };
    const allowAudit = () => exec(sql`drop trigger if exists refuse_audit on audit_log`);

    beforeAll(async () => {
      t = await startTestApp({ db: kind });
      expect((await t.api('POST', '/repositories', { name: 'atomic', type: 'hosted', anonymousRead: true })).status).toBe(201);
      expect((await publish('v1.0.0')).status).toBe(201);
    }, HANG_LIMIT_MS);
    afterAll(async () => {
      await t?.close();
    });

    test('a publish whose audit entry fails is a 503 and publishes nothing', async () => {
      const before = await auditCount('module.publish');
      await refuseAudit();
      try {
        const res = await publish('v1.1.0');
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).not.toBeNull();
      } finally {
        await allowAudit();
      }
      expect(await (await t.request(`/go/atomic/${mod}/@v/list`)).text()).toBe('v1.0.0\n');
      expect(await auditCount('module.publish')).toBe(before);
      // The same version goes through once the audit log takes entries again, with its entry.
      expect((await publish('v1.1.0')).status).toBe(201);
      expect(await auditCount('module.publish')).toBe(before + 1);
    });

    test('repository create, update and delete whose audit entry fails are 503 and change nothing', async () => {
      await refuseAudit();
      try {
        const created = await t.api('POST', '/repositories', { name: 'never', type: 'hosted' });
        expect(created.status).toBe(503);
        const updated = await t.api('PATCH', '/repositories/atomic', { description: 'changed' });
        expect(updated.status).toBe(503);
        const deleted = await t.api('DELETE', '/repositories/atomic');
        expect(deleted.status).toBe(503);
      } finally {
        await allowAudit();
      }
      expect((await t.api('GET', '/repositories/never')).status).toBe(404);
      const kept = await t.api('GET', '/repositories/atomic');
      expect(kept.status).toBe(200);
      expect((await kept.json()).description).toBe('');
      expect(await auditCount('repository.delete')).toBe(0);
    });

    test('user create, update, password change and delete whose audit entry fails are 503 and change nothing', async () => {
      expect((await t.api('POST', '/users', { username: 'ursula', password: 'ursula-password-1' })).status).toBe(201);
      const ursula = basic('ursula', 'ursula-password-1');
      await refuseAudit();
      try {
        expect((await t.api('POST', '/users', { username: 'never', password: 'never-password-1' })).status).toBe(503);
        expect((await t.api('PATCH', '/users/ursula', { isAdmin: true, password: 'changed-password-1' })).status).toBe(503);
        const own = await t.api(
          'PUT',
          '/users/me/password',
          { currentPassword: 'ursula-password-1', newPassword: 'other-password-1' },
          ursula,
        );
        expect(own.status).toBe(503);
        expect((await t.api('DELETE', '/users/ursula')).status).toBe(503);
      } finally {
        await allowAudit();
      }
      expect((await t.api('GET', '/users/never')).status).toBe(404);
      const kept = await t.api('GET', '/users/ursula');
      expect((await kept.json()).isAdmin).toBe(false);
      // The old password still signs in: neither change of it happened.
      expect((await t.api('GET', '/users/me', undefined, ursula)).status).toBe(200);
      expect(await auditCount('user.update')).toBe(0);
      expect(await auditCount('user.password')).toBe(0);
      expect(await auditCount('user.delete')).toBe(0);
    });

    test('token create and revoke whose audit entry fails are 503 and change nothing', async () => {
      const made = await t.api('POST', '/tokens', { name: 'kept' });
      expect(made.status).toBe(201);
      const { id, token: secret } = await made.json();
      await refuseAudit();
      try {
        expect((await t.api('POST', '/tokens', { name: 'never' })).status).toBe(503);
        expect((await t.api('DELETE', `/tokens/${id}`)).status).toBe(503);
      } finally {
        await allowAudit();
      }
      const names = ((await (await t.api('GET', '/tokens')).json()) as { name: string }[]).map((x) => x.name);
      expect(names).toEqual(['kept']);
      // Not revoked: the token still opens the API.
      expect((await t.api('GET', '/users/me', undefined, `Bearer ${secret}`)).status).toBe(200);
      expect(await auditCount('token.revoke')).toBe(0);
    });

    test('a grant and its revocation whose audit entry fails are 503 and change nothing', async () => {
      expect((await t.api('POST', '/users', { username: 'gary', password: 'gary-password-1' })).status).toBe(201);
      expect((await t.api('PUT', '/repositories/atomic/permissions/gary', { role: 'read' })).status).toBe(200);
      await refuseAudit();
      try {
        expect((await t.api('PUT', '/repositories/atomic/permissions/gary', { role: 'admin' })).status).toBe(503);
        expect((await t.api('DELETE', '/repositories/atomic/permissions/gary')).status).toBe(503);
      } finally {
        await allowAudit();
      }
      const grants = await (await t.api('GET', '/repositories/atomic/permissions')).json();
      expect(grants).toMatchObject([{ username: 'gary', role: 'read' }]);
      expect(await auditCount('permission.revoke')).toBe(0);
    });

    test('a version delete and a cleanup policy change whose audit entry fails are 503 and change nothing', async () => {
      const version = `/repositories/atomic/modules/versions?module=${encodeURIComponent(mod)}&version=v1.0.0`;
      await refuseAudit();
      try {
        expect((await t.api('DELETE', version)).status).toBe(503);
        expect((await t.api('PUT', '/repositories/atomic/cleanup-policy', { keepVersions: 1 })).status).toBe(503);
      } finally {
        await allowAudit();
      }
      expect((await t.request(`/go/atomic/${mod}/@v/v1.0.0.info`)).status).toBe(200);
      expect(await (await t.api('GET', '/repositories/atomic/cleanup-policy')).json()).toMatchObject({ keepVersions: null });
      expect(await auditCount('module.delete')).toBe(0);
      // With the audit log back, the delete goes through with its entry.
      expect((await t.api('DELETE', version)).status).toBe(204);
      expect(await auditCount('module.delete')).toBe(1);
    });
  });
}
