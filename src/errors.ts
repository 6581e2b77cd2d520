/**
 * The errors the product speaks, each with its HTTP status. Services throw these and code that must
 * tell them apart tests the class (`instanceof NotFound`), never the number; the responses of the Go
 * routes and the admin API are written here. (The UI shows the same errors as pages, http/ui/controller.ts.)
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Where a service error comes from a form field, its name (as the admin API's JSON body spells it), for the UI to point at. */
export interface FieldOption {
  field?: string;
}

export class BadRequest extends AppError {
  readonly field?: string;
  constructor(message: string, opts: FieldOption = {}) {
    super(400, 'bad_request', message);
    this.field = opts.field;
  }
}

export class Unauthorized extends AppError {
  constructor(message = 'authentication required') {
    super(401, 'unauthorized', message, { 'WWW-Authenticate': 'Basic realm="OrbitRepos", charset="UTF-8"' });
  }
}

export class Forbidden extends AppError {
  constructor(message = 'permission denied') {
    super(403, 'forbidden', message);
  }
}

export class NotFound extends AppError {
  constructor(message = 'not found') {
    super(404, 'not_found', message);
  }
}

/**
 * A version that was here and was removed: a hosted version deleted under write policy allow_once (its
 * tombstone keeps its hashes), or, through a group, a member's gone version. A NotFound to code that only
 * asks "is it here?" (the go command treats 404 and 410 alike: try the next proxy); answered 410.
 */
export class Gone extends NotFound {
  constructor(message: string) {
    super(message);
    // NotFound fixes 404 and not_found; a gone version says more, so both are set over them here.
    Object.assign(this, { status: 410, code: 'gone' });
  }
}

export class MethodNotAllowed extends AppError {
  constructor(message: string, allow = 'GET, HEAD') {
    super(405, 'method_not_allowed', message, { Allow: allow });
  }
}

export class Conflict extends AppError {
  readonly field?: string;
  constructor(message: string, opts: FieldOption = {}) {
    super(409, 'conflict', message);
    this.field = opts.field;
  }
}

export class PayloadTooLarge extends AppError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
  }
}

export class UnsupportedMediaType extends AppError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}

export class RangeNotSatisfiable extends AppError {
  constructor(size: number) {
    super(416, 'range_not_satisfiable', 'requested range not satisfiable', { 'Content-Range': `bytes */${size}` });
  }
}

export class TooManyRequests extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'too_many_requests', message, { 'Retry-After': String(retryAfterSeconds) });
  }
}

/** The upstream answered, but not with something we can use. */
export class BadUpstream extends AppError {
  constructor(message: string) {
    super(502, 'bad_upstream', message);
  }
}

/** Seconds a client is told to wait before retrying when a dependency is down: long enough for a blip to pass. */
export const RETRY_AFTER_SECONDS = 5;

/** The database or the storage did not answer (or not in time): nothing the client did wrong, so retry later. */
export class ServiceUnavailable extends AppError {
  constructor(message: string, retryAfterSeconds = RETRY_AFTER_SECONDS) {
    super(503, 'unavailable', message, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export class UpstreamTimeout extends AppError {
  constructor(message: string) {
    super(504, 'upstream_timeout', message);
  }
}

/**
 * The upstream answered 404 or 410: "not here", which the go command treats as "try the next proxy".
 * Passed on with the upstream's own status, so a 410 stays a 410.
 */
export class UpstreamMissing extends NotFound {
  constructor(
    readonly upstreamStatus: 404 | 410,
    message: string,
  ) {
    super(message);
    // NotFound fixes 404; the status is the upstream's word, so it is set over it here.
    (this as { status: number }).status = upstreamStatus;
  }
}

/** A "not here" that says the thing was here once: a Gone, or an upstream's 410 (passed on as it came). */
export function isGone(err: unknown): boolean {
  return err instanceof Gone || (err instanceof UpstreamMissing && err.upstreamStatus === 410);
}

/**
 * The upstream answered 401/403: it refuses this path (a private or blocked module, or our credentials),
 * which is an answer, not an outage: passed on as 403 with its reason, never covered by a stale copy.
 */
export class UpstreamRefused extends Forbidden {}

/**
 * Groups nest deeper than allowed: a cycle made by two concurrent admin edits, most likely. The
 * configuration's fault, not a member's outage, so a group never hides it behind a 502.
 */
export class GroupTooDeep extends AppError {
  constructor(chain: string[], maxDepth: number) {
    super(
      500,
      'group_too_deep',
      `groups nest more than ${maxDepth} deep (${chain.join(' -> ')}): an administrator should look for a cycle in their members`,
    );
  }
}

/**
 * Duck-typed so that src/goproxy (which imports nothing from here) can stay pure: its errors carry
 * `rule`, and a request path that is no protocol path at all carries status 404 (goproxy/request-path.ts).
 */
function isGoProtocolError(err: unknown): err is Error & { rule: string; status?: number } {
  return err instanceof Error && typeof (err as { rule?: unknown }).rule === 'string';
}

/**
 * Error codes that mean "a dependency is down or overloaded", not "this request is wrong":
 * socket errors (Node's E* and Bun fetch's names), postgres-js's own connection errors, and the
 * file system's I/O and capacity errors.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ConnectionRefused',
  'ConnectionClosed',
  'FailedToOpenSocket',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'EIO',
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EMFILE',
  'ENFILE',
  'ESTALE',
]);

/**
 * PostgreSQL SQLSTATEs that a retry can cure: connection exceptions (08), insufficient resources (53),
 * server shutting down or starting (57P), a statement cancelled by statement_timeout (57014),
 * lock timeouts (55P03), serialization failures and deadlocks (40001, 40P01).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57P0.|57014|55P03|40001|40P01)$/;

/** Error names of the AWS SDK (and its HTTP handler) for a storage request that got no usable answer. */
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'SlowDown', 'ServiceUnavailable', 'InternalError']);

interface ErrorFields {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** The error and its causes (drizzle wraps driver errors in DrizzleQueryError with the original as cause). */
function* causes(err: unknown): Generator<unknown> {
  for (let e = err, depth = 0; e && depth < 8; e = (e as ErrorFields).cause, depth++) yield e;
}

/** A short reason (an error code) when err says a dependency did not answer; undefined for anything else. */
function unavailableReason(err: unknown): string | undefined {
  for (const e of causes(err)) {
    const f = e as ErrorFields;
    const code = typeof f.code === 'string' ? f.code : '';
    const name = typeof f.name === 'string' ? f.name : '';
    const status = f.$metadata?.httpStatusCode;
    // Only the code goes out: the driver's message can name internal hosts and ports (it is logged in full).
    if (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NAMES.has(name)) return code || name;
    if (status && status >= 500) return `${name || 'storage error'} (HTTP ${status})`;
  }
  return undefined;
}

/**
 * Maps anything thrown to an AppError. A dependency that is down (database, storage) is a 503 with
 * Retry-After, so the go command and scripts retry instead of reporting the request as wrong;
 * other unknown errors become a 500 whose message hides internals.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  for (const e of causes(err)) if (e instanceof AppError) return e;
  if (isGoProtocolError(err)) {
    const status = err.status === 404 ? 404 : 400;
    return new AppError(status, status === 404 ? 'not_found' : 'bad_request', err.message);
  }
  const reason = unavailableReason(err);
  if (reason !== undefined) return new ServiceUnavailable(`a service this server depends on is unavailable (${reason}); try again shortly`);
  return new AppError(500, 'internal', 'internal server error');
}

/** Collapses a message to one line: the go command prints the body verbatim. */
function oneLine(message: string): string {
  return message.replace(/[\r\n]+/g, ' ').trim();
}

/**
 * `/go/` responses: one text/plain line. `head`: the answer to a HEAD, with the headers of the GET's and no
 * body, as for the files themselves (the server would drop the body on the wire, but a host calling
 * app.handle sees what is returned here).
 */
/** Error lines by error: a remembered 404 is one error object answered again and again. */
const errorLines = new WeakMap<object, Uint8Array<ArrayBuffer>>();

export function goErrorResponse(err: unknown, head = false): Response {
  const { body, status, headers } = goErrorAnswer(err, head);
  return new Response(body, { status, headers });
}

/** goErrorResponse's parts, for a caller that builds the Response itself (the fast path adds its request id). */
export function goErrorAnswer(
  err: unknown,
  head = false,
): { body: Uint8Array<ArrayBuffer> | null; status: number; headers: Record<string, string> } {
  const e = toAppError(err);
  let body = typeof err === 'object' && err !== null ? errorLines.get(err) : undefined;
  if (body === undefined) {
    body = new TextEncoder().encode(`${oneLine(e.message)}\n`);
    if (typeof err === 'object' && err !== null) errorLines.set(err, body);
  }
  return {
    body: head ? null : body,
    status: e.status,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Length': String(body.byteLength),
      ...e.headers,
    },
  };
}

/** Admin API responses: JSON `{error, message}`. */
export function apiErrorResponse(err: unknown): Response {
  const e = toAppError(err);
  return new Response(JSON.stringify({ error: e.code, message: oneLine(e.message) }), {
    status: e.status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...e.headers },
  });
}

/** True for errors a caller should log as a server fault (not client mistakes). */
export function isServerFault(err: unknown): boolean {
  return toAppError(err).status >= 500;
}
