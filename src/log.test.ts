import { expect, test } from 'bun:test';
import { createLogger, redact, redactFields } from './log';

test.each([
  ['userinfo in a URL', 'fetching https://alice:s3cret@repo.example/go/x/', 'fetching https://***@repo.example/go/x/'],
  ['an API token anywhere in text', 'used orb_AbC123_xyz for this', 'used orb_*** for this'],
  ['a Basic header value', 'authorization: Basic YWxpY2U6czNjcmV0', 'authorization: Basic ***'],
  ['a Bearer header value', 'Bearer orb_abc.def', 'Bearer ***'],
  ['user:secret@ in a path without a scheme', 'GET /go/r/https:/alice:s3cret@host/@v/list', 'GET /go/r/https:/***@host/@v/list'],
  ['userinfo without a password in a URL', 'fetching https://alice@repo.example/x', 'fetching https://***@repo.example/x'],
  ['a token in a query-like text', 'GET /x?t=orb_abc', 'GET /x?t=orb_***'],
])('redact removes %s', (_what, text, expected) => {
  expect(redact(text)).toBe(expected);
});

// A secret nested in an object or array of a log line must not slip past a top-level-only check.
test('redactFields blanks secret-named fields and redacts text at every depth', () => {
  const out = redactFields({
    user: 'alice',
    password: 'hunter2',
    request: { headers: { authorization: 'Basic YWxpY2U6aHVudGVyMg==', accept: '*/*' }, url: 'https://alice:hunter2@host/go/r/' },
    attempts: [{ token: 'orb_live_secret' }, 'retry with orb_live_secret'],
    err: new Error('upstream https://bob:pw@up.example/ refused'),
    count: 3,
  });
  expect(out).toEqual({
    user: 'alice',
    password: '***',
    request: { headers: { authorization: '***', accept: '*/*' }, url: 'https://***@host/go/r/' },
    attempts: [{ token: '***' }, 'retry with orb_***'],
    err: 'upstream https://***@up.example/ refused',
    count: 3,
  });
  expect(JSON.stringify(out)).not.toMatch(/hunter2|orb_live|bob:pw|YWxpY2U/);
});

test('text format writes one readable line: clock, level, message, then key=value', () => {
  const lines: string[] = [];
  createLogger({ format: 'text', destination: { write: (l) => lines.push(l) } }).warn('upstream slow', {
    repository: 'go-proxy',
    ms: 250,
    note: 'two words',
  });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}upstream slow repository=go-proxy ms=250 note="two words"\n$/);
});

test('lines below the level are not written', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', format: 'json', destination: { write: (l) => lines.push(l) } });
  log.info('dropped');
  log.error('kept', { password: 'pw' });
  expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ level: 'error', msg: 'kept', password: '***' })]);
});

test('debug lines are written at level debug only, redacted like the rest', () => {
  const lines: string[] = [];
  const destination = { write: (l: string) => lines.push(l) };
  createLogger({ format: 'json', destination }).debug?.('dropped at the default level');
  createLogger({ level: 'info', format: 'json', destination }).debug?.('dropped at info');
  createLogger({ level: 'debug', format: 'json', destination }).debug?.('upstream request', {
    url: 'https://bob:hunter2@proxy.example/m/@v/list',
    token: 'orb_x',
  });
  expect(lines.map((l) => JSON.parse(l))).toEqual([
    expect.objectContaining({ level: 'debug', msg: 'upstream request', url: 'https://***@proxy.example/m/@v/list', token: '***' }),
  ]);
});

// Most lines (the access log's) are written without a redacted copy of their fields: they must say what the copy would.
// The go command's paths all hold "@v/": text with no secret in it must come back as it is.
test.each(['/go/hosted/example.com/m/@v/v1.0.0.info', '/go/g/github.com/!azure/sdk@v1/@latest', 'user@example.com logged in'])(
  'redact leaves %s as it is',
  (text) => {
    expect(redact(text)).toBe(text);
  },
);

test.each([
  [
    'text and numbers',
    { requestId: 'r1' },
    { method: 'GET', path: '/go/x/"q"\\', status: 200, ms: 1.5, skipped: undefined, ok: true, none: null },
  ],
  ['a secret-named field and a token in text', undefined, { password: 'pw', note: 'used orb_abc here' }],
  ['a number JSON cannot write', undefined, { ratio: Number.NaN, big: Number.POSITIVE_INFINITY }],
  ['a nested object and an error', { requestId: 'r2' }, { request: { authorization: 'Basic x' }, err: new Error('https://a:b@h/ failed') }],
  ['a field named like the context', { requestId: 'r3' }, { requestId: 'other', kind: 'info' }],
  ['a field named msg or level', undefined, { msg: 'shadow', level: 'x', time: 1 }],
])('a JSON line with %s says what its redacted object says', (_what, context, fields) => {
  const lines: string[] = [];
  createLogger({ format: 'json', destination: { write: (l) => lines.push(l) }, context: context && (() => context) }).info(
    'request',
    fields,
  );
  expect(lines).toHaveLength(1);
  expect(lines[0].endsWith('}\n')).toBe(true);
  const line = JSON.parse(lines[0]);
  const expected: Record<string, unknown> = { level: 'info', time: line.time, ...context, ...redactFields(fields) };
  expected.msg = 'request';
  expect(line).toEqual(JSON.parse(JSON.stringify(expected)));
  expect(Object.keys(line)[0]).toBe('level');
  expect(Object.keys(line).at(-1)).toBe('msg');
});
