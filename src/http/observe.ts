import { Elysia } from 'elysia';
import type { Logger } from '../log';
import type { Metrics } from '../observability/metrics';
import { requestIdFrom } from '../observability/request-id';
import { enterRequestScope, type RequestScope, scopeOf } from '../observability/request-scope';
import { classifyPath } from '../observability/route-kind';
import { accessFields, accessLine } from './access-line';
import { type AddressSource, peerOf } from './request';
import type { TrustedProxies } from './trusted-proxies';

export interface RequestObservation {
  /** The plugin's mount prefix: requests outside it belong to the host app and are left alone. */
  prefix: string;
  metrics: Metrics;
  /** One line per request, at info level; empty: no access log. */
  accessLog?: Logger;
  trustedProxies: TrustedProxies;
  seed: string;
}

/** The peer, or behind a trusted proxy the right-most untrusted X-Forwarded-For entry. */
function clientAddressFrom(proxies: TrustedProxies, request: Request, server: AddressSource | null | undefined): string {
  return proxies.clientAddress(peerOf(request, server), request.headers.get('x-forwarded-for'));
}

function statusOf(value: unknown, set: { status?: number | string }): number {
  if (value instanceof Response) return value.status;
  return typeof set.status === 'number' ? set.status : 200;
}

/** Body bytes as sent: the declared length of a Response (0 for HEAD), a string's UTF-8 length, an object's JSON length. */
function bytesOf(value: unknown, method: string): number {
  if (method === 'HEAD') return 0;
  if (value instanceof Response) return value.body ? Number(value.headers.get('content-length') ?? 0) || 0 : 0;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value && typeof value === 'object') {
    try {
      return Buffer.byteLength(JSON.stringify(value));
    } catch {
      return 0;
    }
  }
  return 0;
}

/**
 * The request's scope, and at its end its metrics and access-log line: for the Elysia hooks below and
 * for the server's fast path (src/server.ts), which answers GET/HEAD /go/… without Elysia's lifecycle.
 */
export class RequestObserver {
  constructor(private readonly o: RequestObservation) {}

  /**
   * The scope of a request at `path` (the URL path, no query), or undefined outside the plugin's prefix.
   * The client's address is read at once when the access log will name it (a client gone by the end of a
   * slow request has no peer address left to read); without an access log it is read when something asks,
   * a failed sign-in or an audit entry, while the request is served: the peer costs Bun a getpeername(2) on
   * every read, a tenth of a warm answer's CPU.
   */
  open(request: Request, server: AddressSource | null | undefined, path: string): RequestScope | undefined {
    const o = this.o;
    if (o.prefix && path !== o.prefix && !path.startsWith(`${o.prefix}/`)) return undefined;
    const { kind, repository } = classifyPath(path.slice(o.prefix.length) || '/', request.method);
    const id = requestIdFrom(request.headers.get('x-request-id'));
    const scope = { id, startedAt: performance.now(), method: request.method, path, kind, clientAddress: '', repository };
    if (o.accessLog) {
      scope.clientAddress = clientAddressFrom(o.trustedProxies, request, server);
      return scope;
    }
    let address: string | undefined;
    return Object.defineProperty(scope, 'clientAddress', {
      get: () => (address ??= clientAddressFrom(o.trustedProxies, request, server)),
      set: (value: string) => void (address = value),
      enumerable: true,
    });
  }

  /** Writes the request's metrics and access-log line, once. */
  close(scope: RequestScope, status: number, bytes: number): void {
    if (scope.done) return;
    scope.done = true;
    const seconds = (performance.now() - scope.startedAt) / 1000;
    this.o.metrics.request(scope.kind, status, seconds, bytes);
    const log = this.o.accessLog;
    if (log?.infoLine) log.infoLine(accessLine(scope, status, bytes, seconds));
    else log?.info('request', accessFields(scope, status, bytes, seconds));
  }
}

/** The URL path of a request URL, without the query string. */
export function pathOfUrl(url: string): string {
  const pathStart = url.indexOf('/', url.indexOf('//') + 2);
  if (pathStart < 0) return '/';
  const queryAt = url.indexOf('?', pathStart);
  return url.slice(pathStart, queryAt < 0 ? undefined : queryAt);
}

/**
 * Request ids, the access log and the request metrics, as Elysia hooks around every route of the plugin.
 * onRequest opens the request's scope (id, route kind, repository, client address); the line is written
 * once, from mapResponse when a handler answered, else from afterResponse (an unhandled error, no route).
 * Duration and bytes are those of the response head: a streamed zip is counted by its Content-Length.
 */
export function requestObservation(o: RequestObservation, observer = new RequestObserver(o)) {
  const finish = (request: Request, value: unknown, set: { status?: number | string }) => {
    const scope = scopeOf(request);
    if (!scope || scope.done) return;
    observer.close(scope, statusOf(value, set), bytesOf(value, scope.method));
  };
  return new Elysia({ name: 'orbitrepos.observability', seed: o.seed })
    .onRequest(({ request, set, server }) => {
      const scope = observer.open(request, server, pathOfUrl(request.url));
      if (!scope) return;
      set.headers['x-request-id'] = scope.id;
      enterRequestScope(request, scope);
    })
    .mapResponse({ as: 'global' }, ({ request, responseValue, set }) => finish(request, responseValue, set))
    .onAfterResponse({ as: 'global' }, ({ request, responseValue, set }) => finish(request, responseValue, set));
}
