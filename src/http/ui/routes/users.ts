import { publicUser } from '../../../auth/users';
import type { AppContext } from '../../../context';
import type { Role } from '../../../db/schema';
import { BadRequest } from '../../../errors';
import { actor, done, page, signedIn, uiController } from '../controller';
import { errorsFor, isClientError, str } from '../forms';
import { userPage, usersPage } from '../pages/users';
import type { SignedInEnv } from '../session';

/** The services these routes use, and no more. */
export type UserUiDeps = Pick<AppContext, 'id' | 'log' | 'permissions' | 'repositories' | 'sessions' | 'settings' | 'users'>;

const ROLES = new Set<string>(['read', 'write', 'admin']);

/** Current role of one user on every repository, by repository name. */
async function rolesOf(ctx: UserUiDeps, username: string): Promise<Map<string, Role>> {
  const roles = new Map<string, Role>();
  for (const view of await ctx.repositories.list()) {
    const grant = (await ctx.permissions.list(await ctx.repositories.rowByName(view.name))).find((g) => g.username === username);
    if (grant) roles.set(view.name, grant.role);
  }
  return roles;
}

function admin(ctx: UserUiDeps, ui: ReturnType<typeof signedIn>): SignedInEnv {
  ctx.permissions.requireAdmin(ui.principal);
  return ui;
}

/** /users (administrators only): create users, change their account, grant roles per repository. */
export function userUiRoutes(ctx: UserUiDeps, prefix: string) {
  const userPageFor = async (me: SignedInEnv, username: string, errors?: Record<string, string>) => {
    const user = publicUser(await ctx.users.get(username));
    return userPage(me, { user, repos: await ctx.repositories.list(), roles: await rolesOf(ctx, user.username), errors });
  };

  return uiController(ctx, prefix, 'users')
    .get('/users', async ({ ui }) => {
      const me = admin(ctx, signedIn(ui));
      return page(ctx, me, usersPage(me, { users: (await ctx.users.list()).map(publicUser) }));
    })
    .post('/users', async ({ ui, form }) => {
      const me = admin(ctx, signedIn(ui));
      const values = { username: str(form, 'username').trim(), isAdmin: form.get('isAdmin') !== null };
      try {
        const row = await ctx.users.create({ ...values, password: str(form, 'password') }, actor(me));
        return done(ctx, me, `/users/${encodeURIComponent(row.username)}`, `User ${row.username} was created. Grant them access below.`);
      } catch (err) {
        if (!isClientError(err)) throw err;
        const body = usersPage(me, { users: (await ctx.users.list()).map(publicUser), values, errors: errorsFor(err) });
        return page(ctx, me, body, 400);
      }
    })
    .get('/users/:username', async ({ ui, params }) => {
      const me = admin(ctx, signedIn(ui));
      return page(ctx, me, await userPageFor(me, params.username));
    })
    .post('/users/:username', async ({ ui, params, form }) => {
      const me = admin(ctx, signedIn(ui));
      const password = str(form, 'password');
      const patch = { isAdmin: form.get('isAdmin') !== null, disabled: form.get('disabled') !== null, ...(password ? { password } : {}) };
      try {
        // Changing your own password keeps this session; every other session of that user ends.
        const keep = params.username === me.principal.username ? me.session.id : undefined;
        const row = await ctx.users.update(params.username, patch, { actor: actor(me), keepSessionId: keep });
        return done(ctx, me, `/users/${encodeURIComponent(row.username)}`, `User ${row.username} was saved.`);
      } catch (err) {
        if (!isClientError(err)) throw err;
        return page(ctx, me, await userPageFor(me, params.username, errorsFor(err)), 400);
      }
    })
    .post('/users/:username/permissions', async ({ ui, params, form }) => {
      const me = admin(ctx, signedIn(ui));
      const user = await ctx.users.get(params.username);
      const current = await rolesOf(ctx, user.username);
      // Every choice is checked before any is applied, so a bad one changes nothing.
      const changes: { repo: string; role: Role | null }[] = [];
      for (const view of await ctx.repositories.list()) {
        const wanted = str(form, `role:${view.name}`);
        // A repository created after the page was shown has no select: leave its grant alone.
        if (!form.has(`role:${view.name}`) || wanted === (current.get(view.name) ?? '')) continue;
        if (wanted && !ROLES.has(wanted)) throw new BadRequest(`role must be read, write or admin, not "${wanted}"`);
        changes.push({ repo: view.name, role: (wanted || null) as Role | null });
      }
      const a = actor(me);
      for (const change of changes) {
        const repo = await ctx.repositories.rowByName(change.repo);
        if (change.role) await ctx.permissions.grant(repo, user.username, change.role, a);
        else await ctx.permissions.revoke(repo, user.username, a);
      }
      const changed = changes.length;
      return done(
        ctx,
        me,
        `/users/${encodeURIComponent(user.username)}`,
        changed ? `Access of ${user.username} was saved (${changed} change${changed === 1 ? '' : 's'}).` : 'Nothing changed.',
      );
    });
}
