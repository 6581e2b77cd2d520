import { describe, expect, test } from 'bun:test';
import { AppError, Conflict, Gone, goErrorResponse, isGone, NotFound, ServiceUnavailable, toAppError, UpstreamMissing } from './errors';

const withCode = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('toAppError', () => {
  test.each([
    ['a refused connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:5432')],
    ['a reset connection', withCode('ECONNRESET')],
    ["Bun fetch's refused connection", withCode('ConnectionRefused')],
    ["postgres-js's connect timeout", withCode('CONNECT_TIMEOUT')],
    ["postgres-js's closed connection", withCode('CONNECTION_CLOSED')],
    ['PostgreSQL shutting down (57P01)', withCode('57P01')],
    ['a statement cancelled by statement_timeout (57014)', withCode('57014')],
    ['too many connections (53300)', withCode('53300')],
    ['a full disk', withCode('ENOSPC')],
    ['an I/O error', withCode('EIO')],
    [
      'an S3 5xx answer',
      Object.assign(new Error('We encountered an internal error'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }),
    ],
    ['an S3 request timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ])('%s is a 503 with Retry-After', (_what, err) => {
    const e = toAppError(err);
    expect(e).toBeInstanceOf(ServiceUnavailable);
    expect(e.status).toBe(503);
    expect(Number(e.headers['Retry-After'])).toBeGreaterThan(0);
  });

  // drizzle wraps every driver error in DrizzleQueryError with the original as `cause`.
  test('a connection error wrapped as the cause of a query error is still a 503', () => {
    const wrapped = new Error('Failed query: select 1', { cause: withCode('CONNECTION_CLOSED') });
    expect(toAppError(wrapped).status).toBe(503);
  });

  test('an AppError thrown inside a query keeps its own status through the wrapper', () => {
    expect(toAppError(new Error('Failed query', { cause: new Conflict('taken') })).status).toBe(409);
  });

  test('the 503 message names the error code but not the address the driver mentioned', () => {
    const e = toAppError(withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:5432'));
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.message).not.toContain('10.0.0.7');
  });

  test.each([
    ['a unique violation (23505)', withCode('23505')],
    ['a plain Error', new Error('bug')],
    ['a thrown string', 'oops'],
  ])('%s stays a 500 that hides its message', (_what, err) => {
    const e = toAppError(err);
    expect(e.status).toBe(500);
    expect(e.message).toBe('internal server error');
  });

  test('a 503 answer to the go command carries Retry-After', () => {
    const res = goErrorResponse(new ServiceUnavailable('database did not answer'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
  });

  test('an AppError is returned as it is', () => {
    const e = new AppError(418, 'teapot', 'short and stout');
    expect(toAppError(e)).toBe(e);
  });
});

describe('goErrorResponse', () => {
  test('an answer to HEAD has the status and headers of the GET answer and no body', async () => {
    const err = new NotFound('example.com/x@v1.0.0 not found in repository "r"');
    const get = goErrorResponse(err);
    const head = goErrorResponse(err, true);
    const body = await get.text();
    expect(body).toBe('example.com/x@v1.0.0 not found in repository "r"\n');
    expect(get.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(head.status).toBe(get.status);
    for (const h of ['content-type', 'content-length', 'cache-control']) expect(head.headers.get(h)).toBe(get.headers.get(h));
    expect(head.body).toBeNull();
  });
});

describe('Gone', () => {
  test('is a NotFound answered 410, as an upstream 410 is', () => {
    const gone = new Gone('example.com/x@v1.0.0 was deleted');
    expect(gone).toBeInstanceOf(NotFound);
    expect([gone.status, gone.code]).toEqual([410, 'gone']);
    expect(goErrorResponse(gone).status).toBe(410);
  });

  test.each([
    ['a Gone', new Gone('deleted'), true],
    ['an upstream 410', new UpstreamMissing(410, 'upstream answered 410'), true],
    ['an upstream 404', new UpstreamMissing(404, 'upstream answered 404'), false],
    ['a NotFound', new NotFound('never here'), false],
    ['another error', new Conflict('taken'), false],
  ])('isGone of %s is %p', (_what, err, gone) => {
    expect(isGone(err)).toBe(gone);
  });
});
