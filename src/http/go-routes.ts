import { Elysia } from 'elysia';
import { hiddenRepository } from '../auth/permissions';
import type { Principal } from '../auth/principal';
import type { AppContext } from '../context';
import {
  BadRequest,
  BadUpstream,
  Forbidden,
  isServerFault,
  MethodNotAllowed,
  NotFound,
  Unauthorized,
  UpstreamRefused,
  UpstreamTimeout,
} from '../errors';
import { parseGoRequestPath, parseSumdbPath } from '../goproxy/request-path';
import { isCanonicalVersion } from '../goproxy/version';
import { warnOutage } from '../observability/outage-log';
import { runInRequestScope } from '../observability/request-scope';
import { CACHE_IMMUTABLE, CACHE_SHORT, type GoFile, type GoRepository } from '../repos/repository';
import { goErrorAnswered } from './answer';
import { fileResponse, textResponse } from './file-response';
import { pathOfUrl, type RequestObserver } from './observe';
import { type AddressSource, actorOf, credentialsOf, notePrincipal } from './request';

/** The services these routes use, and no more. */
export type GoRoutesDeps = Pick<AppContext, 'auth' | 'id' | 'log' | 'permissions' | 'registry'>;

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

/** Everything after `/go/{repo}/`, taken from the raw URL so that percent-encoding is seen, not decoded away. */
function protocolPath(request: Request, repo: string): string {
  const pathname = new URL(request.url).pathname;
  const marker = `/go/${repo}/`;
  const at = pathname.indexOf(marker);
  if (at < 0) throw new BadRequest('malformed repository path');
  return pathname.slice(at + marker.length);
}

/**
 * Cache-Control for a repository's answers: list/@latest short, version files immutable unless replaceable.
 * `everyoneMayRead`: anonymous read on the repository and, for a group, on every member an answer could come from.
 */
function cachePolicy(repo: GoRepository, everyoneMayRead: boolean): CachePolicy {
  // A repository that publishes under write policy "allow" may replace a version: no client may keep it forever.
  const replaceable = repo.publisher !== undefined && repo.row.writePolicy === 'allow';
  return CACHE_POLICIES[(everyoneMayRead ? 0 : 1) + (replaceable ? 2 : 0)];
}

interface CachePolicy {
  metadata: string;
  version: string;
  scoped(cache: string): string;
}

function makeCachePolicy(everyoneMayRead: boolean, replaceable: boolean): CachePolicy {
  // Answers that needed credentials are `private`: a shared cache in front must not hand them to others.
  const scoped = (cache: string) => (everyoneMayRead ? cache : cache.replace(/^public\b/, 'private'));
  return { metadata: scoped(CACHE_SHORT), version: scoped(replaceable ? CACHE_SHORT : CACHE_IMMUTABLE), scoped };
}

/** The four policies, made once: [public, private, public replaceable, private replaceable]. */
const CACHE_POLICIES = [
  makeCachePolicy(true, false),
  makeCachePolicy(false, false),
  makeCachePolicy(true, true),
  makeCachePolicy(false, true),
];

/**
 * The repository, or an auth failure where a 404 would tell an outsider which names exist (and would let
 * the go command fall through to the next GOPROXY entry): anonymous -> 401, a non-administrator -> 403.
 */
async function openVisible(ctx: GoRoutesDeps, repoName: string, principal: Principal): Promise<GoRepository> {
  try {
    return await ctx.registry.open(repoName);
  } catch (err) {
    if (!(err instanceof NotFound) || (principal.kind === 'user' && principal.isAdmin)) throw err;
    throw hiddenRepository(principal, repoName);
  }
}

/**
 * Group reads are member reads: a group answers with a member's modules only if the caller may read that
 * member. True when every answer may be kept by a shared cache (anonymous read on the repository and,
 * for a group, on every repository an answer could come from).
 */
function readAsCaller(ctx: GoRoutesDeps, repo: GoRepository, principal: Principal): boolean | Promise<boolean> {
  return readAsCallerNow(ctx, repo, principal) ?? repo.members!.everyMemberAnonymousRead();
}

/** readAsCaller when its answer is known without an await; undefined when a group's member rows must be read. */
function readAsCallerNow(ctx: GoRoutesDeps, repo: GoRepository, principal: Principal): boolean | undefined {
  if (!repo.members) return repo.row.anonymousRead;
  repo.members.readingAs(
    (member) => ctx.permissions.authorize(principal, member, 'read'),
    (member) => ctx.permissions.mayReadNow(principal, member),
  );
  return repo.row.anonymousRead && repo.members.everyMemberAnonymousReadNow();
}

/**
 * Parsed protocol paths by their text: the go command asks the same few paths again and again, and parsing
 * one (unescaping, module path rules) cost more than answering it from memory. Bounded; starts over when full.
 */
const parsedPaths = new Map<string, ReturnType<typeof parseGoRequestPath>>();
const PARSED_PATHS_MAX = 4096;

function parsedGoPath(rest: string): ReturnType<typeof parseGoRequestPath> {
  let req = parsedPaths.get(rest);
  if (req === undefined) {
    req = Object.freeze(parseGoRequestPath(rest));
    if (parsedPaths.size >= PARSED_PATHS_MAX) parsedPaths.clear();
    parsedPaths.set(rest, req);
  }
  return req;
}

/** isCanonicalVersion by version text, as parsedGoPath (bounded). */
const canonicalVersions = new Map<string, boolean>();

function canonicalVersion(version: string): boolean {
  let canonical = canonicalVersions.get(version);
  if (canonical === undefined) {
    canonical = isCanonicalVersion(version);
    if (canonicalVersions.size >= PARSED_PATHS_MAX) canonicalVersions.clear();
    canonicalVersions.set(version, canonical);
  }
  return canonical;
}

/**
 * @v/list bodies by the list they were made from. A list answered from memory is the same array until the
 * module is written to (cached-repository.ts), so a 1000-version list is joined once, not on every request.
 */
const listBodies = new WeakMap<string[], string>();

function listBody(versions: string[]): string {
  let body = listBodies.get(versions);
  if (body === undefined) listBodies.set(versions, (body = versions.map((v) => `${v}\n`).join('')));
  return body;
}

/**
 * By what the failure means: an upstream's refusal is an answer (info); an upstream outage fails every request
 * until it ends, so it is said once per repository per minute (warn); only our own faults are errors.
 */
function logFailure(ctx: GoRoutesDeps, repoName: string, request: Request, err: unknown): void {
  // A 404 or an auth failure is an answer, logged by its access-log line alone: nothing to work out for it.
  if (err instanceof NotFound || err instanceof Unauthorized || (err instanceof Forbidden && !(err instanceof UpstreamRefused))) return;
  const path = new URL(request.url).pathname;
  if (err instanceof UpstreamRefused) ctx.log.info('upstream refused', { repository: repoName, path, reason: err.message });
  else if (err instanceof BadUpstream || err instanceof UpstreamTimeout) warnOutage(ctx.log, repoName, 'upstream outage', { path, err });
  else if (isServerFault(err)) ctx.log.error('go request failed', { method: request.method, path, err });
}

type GoRequest = ReturnType<typeof parseGoRequestPath>;

/** The version part of a read's cache key: none for a list or @latest. */
function versionKey(req: GoRequest): string {
  return req.kind === 'list' || req.kind === 'latest' ? '' : req.version;
}

/** What the reading role answers for a request: a version list, @latest's JSON, an .info's JSON, or a file. */
function readValue(repo: GoRepository, req: GoRequest): Promise<unknown> {
  switch (req.kind) {
    case 'list':
      return repo.reader.list(req.module);
    case 'latest':
      return repo.reader.latest(req.module);
    case 'info':
      return repo.reader.info(req.module, req.version);
    case 'mod':
      return repo.reader.mod(req.module, req.version);
    case 'zip':
      return repo.reader.zip(req.module, req.version);
  }
}

/** A read's answer as HTTP: synchronous unless a file's body must be opened or is still arriving. */
function readAnswer(request: Request, req: GoRequest, value: unknown, cache: CachePolicy): Response | Promise<Response> {
  switch (req.kind) {
    case 'list':
      return textResponse(request, listBody(value as string[]), TEXT, cache.metadata);
    case 'latest':
      return textResponse(request, value as string, JSON_TYPE, cache.metadata);
    case 'info':
      // A query (branch, commit, "latest", "v1.2") resolves differently tomorrow: short-lived like a list.
      return textResponse(request, value as string, JSON_TYPE, canonicalVersion(req.version) ? cache.version : cache.metadata);
    case 'mod':
      return fileResponse(request, value as GoFile, TEXT, cache.version);
    case 'zip':
      return fileResponse(request, value as GoFile, 'application/zip', cache.version);
  }
}

/**
 * A read answered from memory, without an await, when everything it depends on is there: the caller (no
 * credentials, or a token seen before), the repository's row, the caller's read grant, for a group which
 * members the caller may read, and the answer itself. Undefined when anything is not (the full path asks,
 * and makes the same checks). The same answer the full path gives, status and headers alike.
 */
function answerFromMemory(
  ctx: GoRoutesDeps,
  request: Request,
  repoName: string,
  server: AddressSource | null | undefined,
  rest: string,
): Response | Promise<Response> | undefined {
  const principal = ctx.auth.authenticateKnown(credentialsOf(request, server));
  const repo = principal && ctx.registry.openNow(repoName);
  if (!repo || !ctx.permissions.mayReadNow(principal, repo.row) || rest.startsWith('sumdb/')) return undefined;
  const everyoneMayRead = readAsCallerNow(ctx, repo, principal);
  if (everyoneMayRead === undefined) return undefined;
  let req: GoRequest;
  try {
    req = parsedGoPath(rest);
  } catch {
    return undefined;
  }
  const known = repo.reader.remembered?.(req.kind, req.module, versionKey(req));
  if (!known) return undefined;
  notePrincipal(request, principal);
  const failed = (err: unknown) => {
    logFailure(ctx, repoName, request, err);
    return goErrorAnswered(err, request.method === 'HEAD');
  };
  try {
    if (known.error) return goErrorAnswered(known.error, request.method === 'HEAD');
    const answer = readAnswer(request, req, known.value, cachePolicy(repo, everyoneMayRead));
    return answer instanceof Response ? answer : answer.catch(failed);
  } catch (err) {
    return failed(err);
  }
}

/**
 * `/go/{repo}/…`: the GOPROXY protocol. Errors are one text/plain line; auth failures are 401/403, never 404.
 * `rest`: everything after `/go/{repo}/`; empty: read from the request's URL.
 */
function goHandler(ctx: GoRoutesDeps) {
  return async (request: Request, repoName: string, server: AddressSource | null | undefined, rest?: string): Promise<Response> => {
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'PUT') {
        throw new MethodNotAllowed(`${request.method} is not part of the module proxy protocol`, 'GET, HEAD, PUT');
      }
      const creds = credentialsOf(request, server);
      // A token seen before, and a grant kept, are settled without an await (the warm answer's path).
      const principal = ctx.auth.authenticateKnown(creds) ?? (await ctx.auth.authenticate(creds));
      notePrincipal(request, principal);
      const repo = await openVisible(ctx, repoName, principal);
      // Read access is settled before the path is even parsed: an outsider learns nothing from 400 vs 404.
      if (!ctx.permissions.mayReadNow(principal, repo.row)) await ctx.permissions.authorize(principal, repo.row, 'read');
      const everyoneMayRead = readAsCaller(ctx, repo, principal);
      const cache = cachePolicy(repo, typeof everyoneMayRead === 'boolean' ? everyoneMayRead : await everyoneMayRead);
      rest ??= protocolPath(request, repoName);

      if (rest.startsWith('sumdb/')) {
        if (request.method !== 'GET' && request.method !== 'HEAD') throw new BadRequest('the checksum database is read-only');
        const { name, rest: sumPath } = parseSumdbPath(rest);
        if (!repo.checksums) throw ctx.registry.sumdbRefusal(repo);
        const answer = await repo.checksums.sumdb(name, sumPath);
        return new Response(request.method === 'HEAD' ? null : (answer.body as Uint8Array<ArrayBuffer>), {
          headers: {
            'Content-Type': answer.contentType,
            'Cache-Control': cache.scoped(answer.cacheControl),
            'Content-Length': String(answer.body.byteLength),
          },
        });
      }

      const req = parsedGoPath(rest);
      if (request.method === 'PUT') {
        if (req.kind !== 'zip' && req.kind !== 'mod' && req.kind !== 'info')
          throw new BadRequest('only .zip, .mod and .info can be uploaded');
        await ctx.permissions.authorize(principal, repo.row, repo.publisher ? 'write' : 'read');
        if (!repo.publisher) {
          await request.body?.cancel().catch(() => {});
          throw await ctx.registry.uploadRefusal(repo);
        }
        if (!request.body) throw new BadRequest('the upload has no body');
        const result = await repo.publisher.upload(
          req.module,
          req.version,
          req.kind,
          request.body,
          actorOf(principal, creds.clientAddress),
        );
        return new Response(JSON.stringify(result), { status: result.created ? 201 : 200, headers: { 'Content-Type': JSON_TYPE } });
      }

      // An answer in memory is taken as it is: a remembered 404 answered without being thrown.
      const known = repo.reader.remembered?.(req.kind, req.module, versionKey(req));
      if (known?.error) return goErrorAnswered(known.error, request.method === 'HEAD');
      // `return await`: a rejection (a 416) must reach the catch below, not Elysia's default handler.
      return await readAnswer(request, req, known ? known.value : await readValue(repo, req), cache);
    } catch (err) {
      logFailure(ctx, repoName, request, err);
      return goErrorAnswered(err, request.method === 'HEAD');
    }
  };
}

/** `/go/{repo}/…` as Elysia routes (hosts that mount the plugin, app.handle in tests). */
export function goRoutes(ctx: GoRoutesDeps) {
  const handle = goHandler(ctx);
  return (
    new Elysia({ name: 'orbitrepos.go-routes', seed: ctx.id })
      // One `all` route, not get/head/put: for a HEAD that matches a GET route, Elysia runs the GET handler and
      // reads its whole body to count Content-Length (a 500 MiB zip read for nothing, and 0 for our bodiless HEAD).
      .all('/go/:repo/*', ({ request, params, server }) => handle(request, params.repo, server), { parse: 'none', detail: { hide: true } })
  );
}

/**
 * Paths the fast path takes as they come: unreserved and sub-delimiter characters only, so that the raw
 * path is exactly what the URL parser would give (no percent-escape, no character it would encode).
 */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/**
 * GET and HEAD of `{prefix}/go/{repo}/…` answered without Elysia's request lifecycle (hooks, context,
 * response mapping), for the standalone server: the same handler, request scope, metrics and access-log
 * line as the Elysia route. Returns undefined for what it leaves to the app: other methods, a declared
 * body, or a path the URL parser would rewrite (escapes, dot segments).
 */
export function goFastPath(ctx: GoRoutesDeps, observer: RequestObserver, prefix: string) {
  const handle = goHandler(ctx);
  const start = `${prefix}/go/`;
  return (request: Request, server: AddressSource | null | undefined): Response | Promise<Response> | undefined => {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const path = pathOfUrl(request.url);
    if (!path.startsWith(start) || path.includes('/.') || !PLAIN_PATH.test(path)) return undefined;
    const repoEnd = path.indexOf('/', start.length);
    if (repoEnd <= start.length || repoEnd === path.length - 1) return undefined;
    if (request.headers.get('content-length') !== null) return undefined;
    const scope = observer.open(request, server, path);
    if (!scope) return undefined;
    const repoName = path.slice(start.length, repoEnd);
    const rest = path.slice(repoEnd + 1);
    scope.direct = true;
    const finish = (response: Response) => {
      // An answer built by answerWith carries its id already and noted its bytes; any other is read back.
      if (scope.answer === response) observer.close(scope, response.status, scope.answerBytes ?? 0);
      else {
        response.headers.set('x-request-id', scope.id);
        observer.close(
          scope,
          response.status,
          method === 'HEAD' || !response.body ? 0 : Number(response.headers.get('content-length')) || 0,
        );
      }
      return response;
    };
    return runInRequestScope(request, scope, () => {
      const known = answerFromMemory(ctx, request, repoName, server, rest);
      // A warm answer goes out in this turn of the event loop: no promise, no await.
      if (known instanceof Response) return finish(known);
      return (known ?? handle(request, repoName, server, rest)).then(finish);
    });
  };
}
