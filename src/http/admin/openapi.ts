import { dirname, join } from 'node:path';
import { openapi } from '@elysiajs/openapi';
import { Elysia } from 'elysia';
import type { AppContext } from '../../context';

/** The services these routes use, and no more. */
export type OpenApiDeps = Pick<AppContext, 'id'>;

const SWAGGER_DIST = dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir));
const ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
};

/**
 * OpenAPI document at {prefix}/swagger/json and Swagger UI at {prefix}/swagger. The UI's script and
 * stylesheet are served from the swagger-ui-dist package by this server, so it works with no internet.
 */
export function openApiRoutes(ctx: OpenApiDeps, prefix: string) {
  return new Elysia({ name: 'orbitrepos.openapi', seed: ctx.id })
    .get(
      '/swagger/assets/:file',
      ({ params }) => {
        const type = ASSETS[params.file];
        if (!type) return new Response('not found\n', { status: 404 });
        return new Response(Bun.file(join(SWAGGER_DIST, params.file)), {
          headers: { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' },
        });
      },
      { detail: { hide: true } },
    )
    .use(
      openapi({
        path: '/swagger',
        specPath: '/swagger/json',
        provider: 'swagger-ui',
        swagger: {
          cdn: `${prefix}/swagger/assets/swagger-ui-bundle.js`,
          theme: `${prefix}/swagger/assets/swagger-ui.css`,
          persistAuthorization: true,
          // swagger-ui's default validator badge loads an image from a public service: nothing leaves this server.
          validatorUrl: 'none',
        },
        // Only this instance's API: not the go protocol, the UI pages, a host app's routes or another mount's.
        exclude: { paths: [new RegExp(`^(?!${escapeRegExp(prefix)}/(api/v1|health|ready)(/|$))`)] },
        documentation: {
          info: {
            title: 'OrbitRepos Go module server',
            version: '0.1.0',
            description: 'Admin API of the OrbitRepos Go module server. The GOPROXY protocol itself is served under /go/{repository}/.',
          },
          tags: [
            { name: 'repositories', description: 'Hosted, proxy and group Go repositories' },
            { name: 'modules', description: 'Modules and versions stored in a repository' },
            { name: 'users', description: 'Users (administrators only)' },
            { name: 'tokens', description: 'API tokens for the go command and CI' },
            { name: 'permissions', description: 'Per-repository grants' },
            { name: 'maintenance', description: 'Storage lifecycle: blob collection, cleanup policies, tombstones (administrators only)' },
            { name: 'audit', description: 'Who did what (administrators only)' },
            { name: 'health', description: 'Liveness and readiness' },
          ],
          components: {
            securitySchemes: {
              basic: { type: 'http', scheme: 'basic', description: 'username and password, or username and API token' },
              bearer: { type: 'http', scheme: 'bearer', description: 'an API token (orb_…)' },
            },
          },
        },
      }),
    );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
