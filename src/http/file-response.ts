/**
 * Serving a stored file over HTTP: ETag, If-None-Match, Range and If-Range, HEAD. The Go routes decide
 * what to serve; this file only how.
 */
import { RangeNotSatisfiable } from '../errors';
import type { Arriving, FileRange, GoFile } from '../repos/repository';
import { answerWith } from './answer';

/** Parses a single `bytes=` range against size; null means "serve the whole body". Multi-ranges are served whole. */
export function parseRange(header: string | null, size: number): FileRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new RangeNotSatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null;
  }
  if (start >= size) throw new RangeNotSatisfiable(size);
  return { start, end };
}

export function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/**
 * A stored file as an HTTP answer: 304 when If-None-Match holds its ETag, 206 for a single satisfiable
 * Range (honoured only when If-Range is absent or is that ETag), bodiless for HEAD. Synchronous when the
 * file's body is in memory or storage hands it over as a file (a warm answer makes no promise); a promise
 * when the file is still arriving or its body must be opened. A range past the end throws RangeNotSatisfiable.
 */
export function fileResponse(request: Request, file: GoFile, contentType: string, cacheControl: string): Response | Promise<Response> {
  if (file.arriving) return arrivingResponse(request, file.arriving, contentType, cacheControl);
  const headers: Record<string, string> = {
    'Content-Type': contentType,
    'Cache-Control': cacheControl,
    ETag: file.etag,
    'Accept-Ranges': 'bytes',
  };
  if (etagMatches(request.headers.get('if-none-match'), file.etag)) return answerWith(null, 304, headers, 0);
  const ifRange = request.headers.get('if-range');
  const range = !ifRange || ifRange === file.etag ? parseRange(request.headers.get('range'), file.size) : null;
  const head = request.method === 'HEAD';
  // A file storage can hand over as a file says so in every answer, HEAD included (see sentAsFile).
  if (file.blob && !file.bytes && file.size > 0) headers['Content-Disposition'] = 'inline';
  if (range) {
    const end = range.end ?? file.size - 1;
    headers['Content-Range'] = `bytes ${range.start}-${end}/${file.size}`;
    const length = end - range.start + 1;
    headers['Content-Length'] = String(length);
    if (head) return answerWith(null, 206, headers, 0);
    const part = file.bytes?.subarray(range.start, end + 1) ?? sentAsFile(file, range);
    if (part) return sending(file, range, answerWith(part, 206, headers, length));
    return file.open(range).then((body) => sending(file, range, answerWith(body, 206, headers, length)));
  }
  headers['Content-Length'] = String(file.size);
  if (head) return answerWith(null, 200, headers, 0);
  // A body held in memory goes out as one buffer, far cheaper for Bun than a stream.
  const body = file.bytes ?? sentAsFile(file);
  if (body) return sending(file, undefined, answerWith(body, 200, headers, file.size));
  return file.open().then((stream) => sending(file, undefined, answerWith(stream, 200, headers, file.size)));
}

/** The answer that sends `file`'s body (or `range` of it), told to the file (GoFile.sent). */
function sending(file: GoFile, range: FileRange | undefined, response: Response): Response {
  file.sent?.(range);
  return response;
}

/** A fill in progress: only a plain GET streams it as it arrives; a conditional, ranged or HEAD request waits for the stored file. */
async function arrivingResponse(request: Request, arriving: Arriving, contentType: string, cacheControl: string): Promise<Response> {
  const plain = request.method === 'GET' && !request.headers.has('range') && !request.headers.has('if-none-match');
  const body = plain ? arriving.take() : undefined;
  if (!body) return fileResponse(request, await arriving.stored(), contentType, cacheControl);
  // No ETag yet (the hash is known at the end); a length only if the upstream announced it.
  const headers: Record<string, string> = { 'Content-Type': contentType, 'Cache-Control': cacheControl };
  if (arriving.length !== null) headers['Content-Length'] = String(arriving.length);
  return answerWith(body, 200, headers, arriving.length ?? 0);
}

/**
 * The body as a file Bun sends itself (sendfile: no stream through JS), when storage has it as one. Bun names
 * a file body it sends (`Content-Disposition: filename="<blob's hash>"`) unless the answer already carries
 * the header: `inline` is what no header means (RFC 6266, 4.2), so the answer means what it meant before.
 * Never for an empty file, which Bun would answer as a 204.
 */
function sentAsFile(file: GoFile, range?: FileRange): Blob | undefined {
  if (!file.blob || file.size <= 0) return undefined;
  return file.blob(range);
}

/** A small text answer (list, .info), bodiless for HEAD. */
export function textResponse(request: Request, body: string, contentType: string, cacheControl: string): Response {
  // The string as it is (Bun writes it without a copy of our own); its length in UTF-8 for HEAD's sake.
  const bytes = Buffer.byteLength(body);
  const head = request.method === 'HEAD';
  const headers = { 'Content-Type': contentType, 'Cache-Control': cacheControl, 'Content-Length': String(bytes) };
  return answerWith(head ? null : body, 200, headers, head ? 0 : bytes);
}
