import type { AppContext } from '../../../context';
import { BadRequest, Forbidden } from '../../../errors';
import { actor, done, page, signedIn, uiController } from '../controller';
import { errorsFor, isClientError, str } from '../forms';
import { tokensPage } from '../pages/tokens';

/** The services these routes use, and no more. */
export type TokenUiDeps = Pick<AppContext, 'id' | 'log' | 'sessions' | 'settings' | 'tokens' | 'users'>;

/** TokenService's field names that this form spells otherwise. */
const FORM_FIELDS = { expiresAt: 'expires' };

/** A date input's YYYY-MM-DD as the end of that day, UTC: "expires on the 5th" includes the 5th. */
function expiryOf(date: string): string | null {
  if (!date) return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new BadRequest('expires must be a date (YYYY-MM-DD)', { field: 'expires' });
  return `${date}T23:59:59.999Z`;
}

/** /tokens: create (the secret shown once, in the response to the POST), list, revoke. */
export function tokenUiRoutes(ctx: TokenUiDeps, prefix: string) {
  return uiController(ctx, prefix, 'tokens')
    .get('/tokens', async ({ ui }) => {
      const me = signedIn(ui);
      return page(ctx, me, tokensPage(me, { tokens: await ctx.tokens.list(me.session.user) }));
    })
    .post('/tokens', async ({ ui, form }) => {
      const me = signedIn(ui);
      const user = me.session.user;
      const values = { name: str(form, 'name'), expires: str(form, 'expires') };
      try {
        const created = await ctx.tokens.create(user, { name: values.name, expiresAt: expiryOf(values.expires) }, actor(me));
        // Rendered, not redirected: the secret exists only in this response and is never stored.
        return page(ctx, me, tokensPage(me, { tokens: await ctx.tokens.list(user), created }), 201);
      } catch (err) {
        if (!isClientError(err)) throw err;
        const body = tokensPage(me, { tokens: await ctx.tokens.list(user), values, errors: errorsFor(err, FORM_FIELDS) });
        return page(ctx, me, body, 400);
      }
    })
    .post('/tokens/:id/revoke', async ({ ui, params }) => {
      const me = signedIn(ui);
      const id = Number(params.id);
      if (!Number.isSafeInteger(id) || id <= 0) throw new BadRequest('token id must be a positive whole number');
      const { username } = await ctx.tokens.get(id);
      if (username !== me.principal.username && !me.principal.isAdmin) throw new Forbidden(`token ${id} belongs to another user`);
      const token = await ctx.tokens.revoke(id, actor(me));
      return done(ctx, me, '/tokens', `Token ${token.name} was revoked.`);
    });
}
