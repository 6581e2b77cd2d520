import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { checkProperty } from '../../test/support/property';
import { createLogger } from '../log';
import { noMetrics } from '../observability/metrics';
import type { RequestScope } from '../observability/request-scope';
import { accessFields, accessLine } from './access-line';
import { RequestObserver } from './observe';
import { TrustedProxies } from './trusted-proxies';

/** What the logger's object form writes for the same request (the line accessLine must equal), and accessLine's. */
function bothLines(scope: RequestScope, status: number, bytes: number, seconds: number): [string, string] {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', destination: { write: (l) => lines.push(l) }, context: () => ({ requestId: scope.id }) });
  log.info('request', accessFields(scope, status, bytes, seconds));
  lines.push(accessLine(scope, status, bytes, seconds));
  // The two were written a moment apart: the millisecond may differ, nothing else.
  const untimed = (l: string) => l.replace(/"time":"[^"]*"/, '"time":""');
  return [untimed(lines[0]), untimed(lines[1])];
}

const base: RequestScope = {
  id: 'a1b2',
  startedAt: 0,
  method: 'GET',
  path: '/go/hosted/example.com/m/@v/v1.0.0.info',
  kind: 'info',
  clientAddress: '127.0.0.1',
};

test("a warm answer's line is the logger's line, key for key", () => {
  const [object, text] = bothLines({ ...base, repository: 'hosted', cache: 'hit', user: 'alice' }, 200, 51, 0.000_123);
  expect(text).toBe(object);
  expect(JSON.parse(text)).toMatchObject({
    level: 'info',
    requestId: 'a1b2',
    path: base.path,
    status: 200,
    durationMs: 0.1,
    msg: 'request',
  });
});

test('fields a request does not have are left out, as the logger leaves out undefined', () => {
  const [object, text] = bothLines(base, 404, 0, 0.002);
  expect(text).toBe(object);
  expect(Object.keys(JSON.parse(text))).not.toContain('repository');
  expect(Object.keys(JSON.parse(text))).not.toContain('user');
});

test.each([
  ['a token in the path', { path: '/go/x/orb_abcdef/@v/list' }],
  ['userinfo in the path', { path: '/go/x/bob:hunter2@example.com/@v/list' }],
  ['a scheme with userinfo', { path: '/go/x/https://bob:pw@h/@v/list' }],
  ['a Basic credential in the request id', { id: 'Basic dXNlcjpwdw==' }],
  ['a token as the request id', { id: 'orb_secret-value' }],
  ['a token-like method', { method: 'orb_m' }],
  ['quotes, backslashes and control characters', { path: '/go/"x"\\y\n\tz\u0000', user: 'a"b' }],
  ['text outside ASCII', { path: '/go/模块/é/@v/list', repository: 'répo' }],
])('%s is written as the logger writes it, redacted', (_what, change) => {
  const [object, text] = bothLines({ ...base, ...change }, 200, 10, 0.01);
  expect(text).toBe(object);
  expect(text).not.toMatch(/hunter2|orb_abcdef|orb_secret|dXNlcjpwdw/);
});

test('numbers JSON cannot write come out as the logger writes them', () => {
  const [object, text] = bothLines(base, Number.NaN, Number.POSITIVE_INFINITY, Number.NaN);
  expect(text).toBe(object);
});

test("for any strings and numbers, the line is the logger's line", () => {
  const secretish = fc.constantFrom('orb_', 'Basic ', 'Bearer ', '://', 'u:p@', '@', ':', '"', '\\', '\n', '\u2028', '\ud800');
  const anyText = fc.array(fc.oneof(fc.string({ unit: 'binary' }), secretish), { maxLength: 6 }).map((parts) => parts.join(''));
  checkProperty(
    fc.property(
      fc.record({
        id: anyText,
        method: anyText,
        path: anyText,
        repository: fc.option(anyText, { nil: undefined }),
        user: fc.option(anyText, { nil: undefined }),
        clientAddress: anyText,
        cache: fc.option(fc.constantFrom('hit', 'miss', 'negative_hit', 'stale', 'coalesced' as const), { nil: undefined }),
      }),
      fc.integer({ min: 100, max: 599 }),
      fc.oneof(fc.nat(), fc.constant(Number.NaN)),
      fc.double({ min: 0, max: 100, noNaN: true }),
      (fields, status, bytes, seconds) => {
        const [object, text] = bothLines({ ...base, ...fields }, status, bytes, seconds);
        expect(text).toBe(object);
      },
    ),
  );
});

test("a logger without infoLine (a host's own) still gets the line as fields", () => {
  const got: [string, Record<string, unknown> | undefined][] = [];
  const log = { info: (m: string, f?: Record<string, unknown>) => void got.push([m, f]), warn() {}, error() {} };
  const observer = new RequestObserver({
    prefix: '',
    metrics: noMetrics,
    accessLog: log,
    trustedProxies: TrustedProxies.parse(''),
    seed: 't',
  });
  const scope = observer.open(new Request('http://h/go/hosted/example.com/m/@v/list'), undefined, '/go/hosted/example.com/m/@v/list')!;
  observer.close(scope, 200, 5);
  expect(got).toEqual([
    ['request', expect.objectContaining({ requestId: scope.id, path: '/go/hosted/example.com/m/@v/list', status: 200, bytes: 5 })],
  ]);
});
