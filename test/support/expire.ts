import { sql } from 'drizzle-orm';
import type { AppContext } from '../../src/context';
import { repositories } from '../../src/db/schema';

/**
 * Makes every remembered proxy answer (list, @latest, sumdb, 404) expire now, as if its TTL had passed:
 * the rows in the database, and the in-memory copies, whose deadline is their row's expiry and which
 * would have lapsed with it. The copies go through the invalidation bus (every process on the database).
 */
export async function expireProxyAnswers(ctx: AppContext): Promise<void> {
  await ctx.db.execute(sql`update proxy_cache_entries set expires_at = now() - interval '1 second'`);
  const proxies = await ctx.db.select({ id: repositories.id, type: repositories.type }).from(repositories);
  for (const r of proxies) if (r.type === 'proxy') await ctx.invalidation.publish('repository', String(r.id));
}
