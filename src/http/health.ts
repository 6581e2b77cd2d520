import { sql } from 'drizzle-orm';
import { Elysia } from 'elysia';
import type { AppContext } from '../context';

/** The services these routes use, and no more. */
export type HealthDeps = Pick<AppContext, 'db' | 'id' | 'storage'>;

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** /health: the process lives. /ready: the database and the storage answer. */
export function healthRoutes(ctx: HealthDeps) {
  return new Elysia({ name: 'orbitrepos.health', seed: ctx.id })
    .get('/health', () => Response.json({ status: 'ok' }), { detail: { tags: ['health'], summary: 'The process is alive' } })
    .get(
      '/ready',
      async () => {
        const problems: string[] = [];
        await within(3000, 'database', ctx.db.execute(sql`select 1`)).catch((e: Error) => problems.push(`database: ${e.message}`));
        await within(3000, 'storage', ctx.storage.check()).catch((e: Error) => problems.push(`storage: ${e.message}`));
        if (problems.length) return Response.json({ status: 'unavailable', problems }, { status: 503 });
        return Response.json({ status: 'ready' });
      },
      { detail: { tags: ['health'], summary: 'Database and storage answer' } },
    );
}
