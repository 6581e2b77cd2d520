import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Elysia } from 'elysia';
import type { AppContext } from '../../context';

/** The services these routes use, and no more. */
export type AssetDeps = Pick<AppContext, 'id'>;

const TYPES: Record<string, string> = {
  'ui.css': 'text/css; charset=utf-8',
  'ui.js': 'text/javascript; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

// Read once at start-up: three small files, served from memory by this server (no CDN, works offline).
const FILES = new Map(Object.keys(TYPES).map((name) => [name, readFileSync(join(import.meta.dir, 'assets', name))]));

/** Changes whenever any asset does: pages link `?v=` this, so browsers may cache assets for good. */
export const ASSET_VERSION = createHash('sha256')
  .update(Buffer.concat([...FILES.values()]))
  .digest('hex')
  .slice(0, 12);

export function assetRoutes(ctx: AssetDeps) {
  return new Elysia({ name: 'orbitrepos.ui.assets', seed: ctx.id }).get(
    '/ui-assets/:file',
    ({ params, query }) => {
      const body = FILES.get(params.file);
      if (!body) return new Response('not found\n', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
      const versioned = query.v === ASSET_VERSION;
      return new Response(body, {
        headers: {
          'Content-Type': TYPES[params.file],
          'Cache-Control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
          ETag: `"${ASSET_VERSION}"`,
          'X-Content-Type-Options': 'nosniff',
        },
      });
    },
    { detail: { hide: true } },
  );
}
