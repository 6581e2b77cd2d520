import { AsyncLocalStorage } from 'node:async_hooks';
import type { CacheOutcome, RouteKind } from './metrics';

/**
 * What one request's access-log line will say, filled in as the request goes: the HTTP layer sets the
 * id, route and user; a service sets the cache outcome without knowing there is a request at all.
 */
export interface RequestScope {
  id: string;
  /** performance.now() when the request arrived. */
  startedAt: number;
  method: string;
  /** The URL path as asked, without the query string. */
  path: string;
  kind: RouteKind;
  /** The client's address: the peer, or behind a trusted proxy the right-most untrusted X-Forwarded-For entry. */
  clientAddress: string;
  repository?: string;
  user?: string;
  cache?: CacheOutcome;
  /** Set once the line is written, so the two hooks that can end a request never both write it. */
  done?: boolean;
  /**
   * Set by the server's fast path: answers built by answerWith (http/answer.ts) carry X-Request-Id from the
   * start and note their body's bytes here, so that nothing is read back from, or set on, a built Response.
   */
  direct?: boolean;
  /** The last answer built for a `direct` scope, and the bytes of its body (0 for none, or HEAD). */
  answer?: Response;
  answerBytes?: number;
}

const scopes = new AsyncLocalStorage<RequestScope>();
const byRequest = new WeakMap<Request, RequestScope>();

/** Makes scope the current request's for the rest of this asynchronous path (Elysia's onRequest cannot wrap the handler). */
export function enterRequestScope(request: Request, scope: RequestScope): void {
  byRequest.set(request, scope);
  scopes.enterWith(scope);
}

/** Runs fn with scope as the current request's (the server's fast path, which wraps its handler). */
export function runInRequestScope<T>(request: Request, scope: RequestScope, fn: () => T): T {
  byRequest.set(request, scope);
  return scopes.run(scope, fn);
}

export function scopeOf(request: Request): RequestScope | undefined {
  return byRequest.get(request);
}

/** The request being served, if any (a background job has none). */
export function currentRequestScope(): RequestScope | undefined {
  return scopes.getStore();
}

/** A service says how its cache answered; the access-log line carries it. The last word counts (a group asks several members). */
export function noteCacheOutcome(outcome: CacheOutcome): void {
  const scope = scopes.getStore();
  if (scope) scope.cache = outcome;
}

/** For the logger (createLogger's `context`): every line written while serving a request names it. */
export function requestLogContext(): { requestId?: string } {
  const scope = scopes.getStore();
  return scope ? { requestId: scope.id } : {};
}
