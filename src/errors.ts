/**
 * The errors the product speaks, and the ONE place that turns them into HTTP.
 * Services throw these; routes never choose status codes themselves.
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

export class BadRequest extends AppError {
  constructor(message: string) {
    super(400, 'bad_request', message);
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

export class MethodNotAllowed extends AppError {
  constructor(message: string, allow = 'GET, HEAD') {
    super(405, 'method_not_allowed', message, { Allow: allow });
  }
}

export class Conflict extends AppError {
  constructor(message: string) {
    super(409, 'conflict', message);
  }
}

export class PayloadTooLarge extends AppError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
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

export class Unavailable extends AppError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}

export class UpstreamTimeout extends AppError {
  constructor(message: string) {
    super(504, 'upstream_timeout', message);
  }
}

/** Duck-typed so that src/goproxy (which imports nothing from here) can stay pure: its errors carry `rule`. */
function isGoProtocolError(err: unknown): err is Error & { rule: string; status?: number } {
  return err instanceof Error && typeof (err as { rule?: unknown }).rule === 'string';
}

/** Maps anything thrown to an AppError; unknown errors become a 500 whose message hides internals. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isGoProtocolError(err)) {
    const status = err.status === 404 ? 404 : 400;
    return new AppError(status, status === 404 ? 'not_found' : 'bad_request', err.message);
  }
  return new AppError(500, 'internal', 'internal server error');
}

/** Collapses a message to one line: the go command prints the body verbatim. */
function oneLine(message: string): string {
  return message.replace(/[\r\n]+/g, ' ').trim();
}

/** `/go/` responses: one text/plain line. */
export function goErrorResponse(err: unknown): Response {
  const e = toAppError(err);
  return new Response(`${oneLine(e.message)}\n`, {
    status: e.status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...e.headers },
  });
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
