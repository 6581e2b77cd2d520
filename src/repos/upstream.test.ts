import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { type StubUpstream, startStubUpstream } from '../../test/support/stub-upstream';
import { BadUpstream, UpstreamMissing, UpstreamRefused, UpstreamTimeout } from '../errors';
import { goPaths } from '../goproxy/request-path';
import { isUpstreamFailure, UpstreamClient, type UpstreamConfig } from './upstream';

const MOD = 'example.com/Upper/m';
const V = 'v1.0.0';

async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) n += chunk.byteLength;
  return n;
}

describe('UpstreamClient', () => {
  let stub: StubUpstream;
  let zip: Uint8Array;
  const client = (over: Partial<UpstreamConfig> = {}) =>
    new UpstreamClient({ baseUrl: `${stub.url}/`, connectTimeoutMs: 100, responseTimeoutMs: 300, retryDelayMs: 5, ...over });
  const signal = () => new AbortController().signal;

  beforeAll(async () => {
    stub = await startStubUpstream({ basePath: '/mirror/go' });
    zip = stub.addModule(MOD, V);
  });
  afterAll(() => stub.close());
  beforeEach(() => {
    stub.clearFault();
    stub.requests.length = 0;
  });

  test('module paths and versions are !-escaped under a base URL that has a path', async () => {
    const got = await client().bytes(goPaths.file(MOD, V, 'zip'), signal(), 1 << 20);
    expect<Uint8Array>(got.bytes).toEqual(zip);
    expect(stub.requests.map((r) => r.path)).toEqual(['example.com/!upper/m/@v/v1.0.0.zip']);
  });

  test.each([404, 410])('an upstream %i is UpstreamMissing and not retried', async (status) => {
    stub.fault(stub.paths(MOD, V).info, { kind: 'status', status, body: 'gone fishing' });
    const err = await client()
      .bytes(goPaths.file(MOD, V, 'info'), signal(), 1024)
      .catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamMissing);
    expect(err.upstreamStatus).toBe(status);
    expect(err.message).toBe(`upstream ${stub.url}/example.com/!upper/m/@v/v1.0.0.info answered ${status}: gone fishing`);
    expect(stub.count(stub.paths(MOD, V).info)).toBe(1);
  });

  test('a 500 is retried with backoff and succeeds when the upstream recovers', async () => {
    stub.fault(stub.paths(MOD, V).mod, { kind: 'status', status: 500 }, 2);
    const got = await client().bytes(goPaths.file(MOD, V, 'mod'), signal(), 1024);
    expect(new TextDecoder().decode(got.bytes)).toContain(`module ${MOD}`);
    expect(stub.count(stub.paths(MOD, V).mod)).toBe(3);
  });

  test('retries are bounded: a persistent 503 becomes BadUpstream after 1 + retries attempts', async () => {
    stub.fault(stub.paths(MOD, V).mod, { kind: 'status', status: 503 });
    const err = await client({ retries: 1 })
      .bytes(goPaths.file(MOD, V, 'mod'), signal(), 1024)
      .catch((e) => e);
    expect(err).toBeInstanceOf(BadUpstream);
    expect(err.message).toStartWith(`upstream ${stub.url}/example.com/!upper/m/@v/v1.0.0.mod answered 503`);
    expect(stub.count(stub.paths(MOD, V).mod)).toBe(2);
  });

  test('a connection refused is retried and then reported as unreachable', async () => {
    const err = await new UpstreamClient({ baseUrl: 'http://127.0.0.1:1', retries: 1, retryDelayMs: 1 })
      .bytes('x/@v/list', signal(), 10)
      .catch((e) => e);
    expect(err).toBeInstanceOf(BadUpstream);
    expect(err.message).toStartWith('upstream http://127.0.0.1:1/x/@v/list could not be reached');
  });

  test('an upstream that never answers is UpstreamTimeout after connect + response timeout, without retries', async () => {
    stub.fault(stub.paths(MOD, V).info, { kind: 'hang' });
    const started = Date.now();
    const err = await client()
      .bytes(goPaths.file(MOD, V, 'info'), signal(), 1024)
      .catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamTimeout);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(stub.count(stub.paths(MOD, V).info)).toBe(1);
  });

  test('a body that stalls mid-way is UpstreamTimeout, counting only upstream silence', async () => {
    stub.fault(stub.paths(MOD, V).zip, { kind: 'slow', chunkBytes: 16, delayMs: 1000 });
    const res = await client().open(goPaths.file(MOD, V, 'zip'), signal());
    const err = await drain(res.body).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamTimeout);
    expect(err.message).toContain('went silent');
  });

  test('a connection dropped mid-body errors the stream and is not retried', async () => {
    stub.fault(stub.paths(MOD, V).zip, { kind: 'drop', afterBytes: 100 });
    const res = await client().open(goPaths.file(MOD, V, 'zip'), signal());
    expect(res.contentLength).toBe(zip.byteLength);
    const err = await drain(res.body).catch((e) => e);
    expect(err).toBeInstanceOf(BadUpstream);
    expect(stub.count(stub.paths(MOD, V).zip)).toBe(1);
  });

  test('a body shorter than its Content-Length never ends as if whole', async () => {
    stub.fault(stub.paths(MOD, V).zip, { kind: 'short', afterBytes: 100 });
    const res = await client().open(goPaths.file(MOD, V, 'zip'), signal());
    const err = await drain(res.body).catch((e) => e);
    expect(err).toBeInstanceOf(BadUpstream);
    // Bun's fetch may notice the short framing itself; either way the stream errors, it does not end.
    expect(err.message).toMatch(/dropped the connection after \d+ of \d+ bytes|sent 100 of \d+ bytes/);
  });

  test('redirects are followed', async () => {
    stub.fault('elsewhere/@v/v1.0.0.zip', { kind: 'redirect', to: stub.paths(MOD, V).zip });
    const got = await client().bytes('elsewhere/@v/v1.0.0.zip', signal(), 1 << 20);
    expect<Uint8Array>(got.bytes).toEqual(zip);
  });

  test('a body over the limit is refused', async () => {
    const err = await client()
      .bytes(goPaths.file(MOD, V, 'zip'), signal(), 10)
      .catch((e) => e);
    expect(err).toBeInstanceOf(BadUpstream);
    expect(err.message).toContain('limit of 10');
  });

  test("the caller's abort stops the request", async () => {
    stub.fault(stub.paths(MOD, V).info, { kind: 'hang' });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('caller left')), 20);
    const err = await client({ responseTimeoutMs: 5000 })
      .bytes(goPaths.file(MOD, V, 'info'), ctl.signal, 1024)
      .catch((e) => e);
    expect(err.message).toBe('caller left');
  });
});

describe('UpstreamClient with credentials', () => {
  let stub: StubUpstream;
  beforeAll(async () => {
    stub = await startStubUpstream({ auth: { username: 'bob', password: 's3cret-pw' } });
    stub.addModule('example.com/private', V);
  });
  afterAll(() => stub.close());

  test('Basic credentials are sent to the upstream', async () => {
    const c = new UpstreamClient({ baseUrl: stub.url, username: 'bob', password: 's3cret-pw' });
    const got = await c.bytes(goPaths.list('example.com/private'), new AbortController().signal, 1024);
    expect(new TextDecoder().decode(got.bytes)).toBe('v1.0.0\n');
  });

  test('wrong credentials are a refusal (403, not an outage) that says so without echoing the password', async () => {
    const c = new UpstreamClient({ baseUrl: stub.url, username: 'bob', password: 'wrong-pw' });
    const err = await c.bytes(goPaths.list('example.com/private'), new AbortController().signal, 1024).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamRefused);
    expect(err.status).toBe(403);
    expect(isUpstreamFailure(err)).toBe(false);
    expect(err.message).toContain('answered 401');
    expect(err.message).not.toContain('wrong-pw');
  });

  test('credentials are not forwarded to a redirect on another origin', async () => {
    const other = await startStubUpstream();
    other.addModule('example.com/private', V);
    stub.fault(stub.paths('example.com/private').list, { kind: 'redirect', to: `${other.url}/${other.paths('example.com/private').list}` });
    try {
      const c = new UpstreamClient({ baseUrl: stub.url, username: 'bob', password: 's3cret-pw' });
      await c.bytes(goPaths.list('example.com/private'), new AbortController().signal, 1024);
      expect(other.requests[0].authorization).toBeNull();
    } finally {
      stub.clearFault();
      await other.close();
    }
  });
});
