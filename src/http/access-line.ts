import { isoNow, redact } from '../log';
import type { RequestScope } from '../observability/request-scope';

/** The access-log line's fields; never a header, a query string or a credential (the logger redacts on top). */
export function accessFields(scope: RequestScope, status: number, bytes: number, seconds: number) {
  return {
    requestId: scope.id,
    method: scope.method,
    path: scope.path,
    kind: scope.kind,
    repository: scope.repository,
    status,
    bytes,
    durationMs: durationMs(seconds),
    cache: scope.cache,
    user: scope.user,
    client: scope.clientAddress,
  };
}

const durationMs = (seconds: number) => Math.round(seconds * 10_000) / 10;

/** What JSON.stringify escapes in a string: quotes, backslashes, control characters and lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes.
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as JSON.stringify writes it; most need no escape, and quoting them is a tenth of the cost. */
const json = (s: string) => (ESCAPED.test(s) ? JSON.stringify(s) : `"${s}"`);

/** A string as the logger writes it: redacted, as JSON. */
const text = (s: string) => json(redact(s));
/** A number as JSON writes it (null for NaN and the infinities). */
const num = (n: number) => (Number.isFinite(n) ? String(n) : 'null');

/**
 * The line Logger.info('request', accessFields(…)) writes, the same text key for key (src/http/access-line.test.ts
 * holds that for any strings), built as text: one per request, and the object form (an object, each key looked
 * up and each value redacted, then JSON.stringify) cost a fifth more, with the writer. Every string a client or an administrator chose
 * (id, method, path, repository, user, client) is redacted as the logger would; kind and cache are the
 * server's own words, written as they are.
 */
export function accessLine(scope: RequestScope, status: number, bytes: number, seconds: number): string {
  let line = `{"level":"info","time":"${isoNow()}","requestId":${text(scope.id)},"method":${text(scope.method)},"path":${text(scope.path)},"kind":${json(scope.kind)}`;
  if (scope.repository !== undefined) line += `,"repository":${text(scope.repository)}`;
  line += `,"status":${num(status)},"bytes":${num(bytes)},"durationMs":${num(durationMs(seconds))}`;
  if (scope.cache !== undefined) line += `,"cache":${json(scope.cache)}`;
  if (scope.user !== undefined) line += `,"user":${text(scope.user)}`;
  return `${line},"client":${text(scope.clientAddress)},"msg":"request"}\n`;
}
