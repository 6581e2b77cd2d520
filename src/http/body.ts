import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from '../errors';

/** Admin API bodies are a few fields; the largest real one (a group's member list) is a few KiB. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;
/** UI forms are small; uploads go to PUT /go/… instead, so a big POST there is a mistake or an attack. */
export const MAX_FORM_BODY_BYTES = 1024 * 1024;

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

export function tooLarge(limit: number, what: string): PayloadTooLarge {
  return new PayloadTooLarge(`the request body is larger than the ${formatBytes(limit)} limit for ${what}`);
}

/** The media type without parameters, lower-cased; '' when absent. */
export function mediaType(request: Request): string {
  return (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

/** True when the request says it carries a body (a length above 0, or chunked). */
export function declaresBody(request: Request): boolean {
  const length = request.headers.get('content-length');
  if (length !== null) return Number(length) > 0;
  return request.headers.has('transfer-encoding') || request.body !== null;
}

/**
 * The whole body, refusing more than `limit` bytes: a declared Content-Length over the limit is refused
 * before a byte is read, and a chunked body is cancelled at the first byte past the limit. So a huge
 * body costs the server at most `limit` bytes of reading, whoever sent it.
 */
export async function readBodyLimited(request: Request, limit: number, what: string): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    const n = Number(declared);
    if (!Number.isSafeInteger(n) || n < 0) throw new BadRequest(`Content-Length ${JSON.stringify(declared)} is not a byte count`);
    if (n > limit) throw tooLarge(limit, what);
  }
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit, what);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * An admin API write's JSON body. Only `application/json` is taken: an HTML form on another site can
 * post url-encoded, multipart or text/plain bodies to us with the browser's cached credentials (CSRF),
 * but not application/json, which needs a CORS preflight this server never grants.
 */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export async function readJsonBody(request: Request): Promise<unknown> {
  if (!declaresBody(request)) {
    // Reads and deletes need no body; every other write here does.
    if (!BODY_METHODS.has(request.method)) return undefined;
    throw new BadRequest('the request has no body: send a JSON object with Content-Type: application/json');
  }
  const type = mediaType(request);
  if (type !== 'application/json') {
    throw new UnsupportedMediaType(
      `the admin API takes JSON bodies only: send Content-Type: application/json${type ? ` (this request said ${type})` : ''}`,
    );
  }
  const bytes = await readBodyLimited(request, MAX_JSON_BODY_BYTES, 'admin API requests');
  if (bytes.byteLength === 0) throw new BadRequest('the request has no body: send a JSON object');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BadRequest('the request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** A UI form's fields: url-encoded or multipart, nothing else, and no bigger than MAX_FORM_BODY_BYTES. */
export async function readFormBody(request: Request): Promise<FormData> {
  const type = mediaType(request);
  if (!declaresBody(request)) throw new BadRequest('the form arrived empty: send it from the page');
  if (type !== 'application/x-www-form-urlencoded' && type !== 'multipart/form-data') {
    throw new BadRequest(`the form could not be read: send it as a normal HTML form${type ? ` (this request was ${type})` : ''}`);
  }
  const bytes = await readBodyLimited(request, MAX_FORM_BODY_BYTES, 'forms');
  try {
    return await new Response(bytes, { headers: { 'content-type': request.headers.get('content-type') ?? type } }).formData();
  } catch {
    throw new BadRequest('the form could not be read: send it as a normal HTML form');
  }
}
