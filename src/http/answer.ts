import { goErrorAnswer } from '../errors';
import { currentRequestScope } from '../observability/request-scope';

/**
 * A Go route's Response. Under the fast path's scope it carries X-Request-Id from the start and notes its
 * body's bytes for the access line: a header set on a built Response, or read back from one, costs Bun a
 * copy of the headers, which measured more than the rest of a warm answer's observing. `bytes`: what the
 * body holds (0 for none, or a HEAD).
 */
export function answerWith(body: BodyInit | null, status: number, headers: Record<string, string>, bytes: number): Response {
  const scope = currentRequestScope();
  if (!scope?.direct) return new Response(body, { status, headers });
  headers['X-Request-Id'] = scope.id;
  const response = new Response(body, { status, headers });
  scope.answer = response;
  scope.answerBytes = bytes;
  return response;
}

/** goErrorResponse, through answerWith. */
export function goErrorAnswered(err: unknown, head: boolean): Response {
  const { body, status, headers } = goErrorAnswer(err, head);
  return answerWith(body, status, headers, body?.byteLength ?? 0);
}
