import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { CONTRACT_MODULE, GONE, MISSING, moduleReaderTests, type ReaderWorld, sha256 } from '../repos/module-reader.contract';

/** CONTRACT_MODULE as a protocol path spells it, written out so that the escaping is checked, not reused. */
const ESCAPED = 'example.com/contract/!lib';

export interface ReadingWorld extends ReaderWorld {
  /** A request to the repository's Go routes (`path`: what follows `/go/{repo}/`), by a caller who may read all of it. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * One contract for every kind of repository, run the same against each: `runReadingContract('hosted', makeWorld)`.
 * The reading role (src/repos/module-reader.contract.ts) and then the same answers through the real Go routes:
 * what the HTTP layer adds (HEAD, Range, ETag and If-None-Match, 404 against 410) must not depend on the kind.
 */
export function runReadingContract(name: string, makeWorld: () => Promise<ReadingWorld>): void {
  describe(`reading contract: ${name}`, () => {
    let w: ReadingWorld | undefined;
    beforeAll(async () => {
      w = await makeWorld();
    }, 120_000);
    afterAll(async () => {
      await w?.cleanup();
    });
    describe('ModuleReader', () => moduleReaderTests(() => w!));
    describe('over the Go routes', () => goRoutesTests(() => w!));
  });
}

/** What a HEAD must answer as its GET does. */
const HEADERS = ['content-type', 'content-length', 'etag', 'cache-control', 'accept-ranges', 'content-range'];
const headersOf = (res: Response) => Object.fromEntries(HEADERS.map((h) => [h, res.headers.get(h)]));
const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function goRoutesTests(world: () => ReadingWorld): void {
  const version = (v: string, ext: string) => `${ESCAPED}/@v/${v}.${ext}`;

  /**
   * Reads `path` once and drops the answer: the answers compared below are those of a stored file. (A proxy's
   * first GET of a cold zip streams it as it arrives, before its hash and so its ETag are known:
   * test/integration/proxy-streamed-fill.test.ts.)
   */
  const stored = async (path: string) => {
    await bytesOf(await world().request(path));
  };

  /** GET and HEAD of one path, with their bodies read. */
  const both = async (path: string, headers: Record<string, string> = {}) => {
    const get = await world().request(path, { headers });
    const body = await bytesOf(get);
    const head = await world().request(path, { method: 'HEAD', headers });
    return { get, body, head, headBody: await bytesOf(head) };
  };

  /** HEAD answered as GET: the same status and headers, no body; GET's Content-Length is its body's. */
  const sameButBodiless = (a: Awaited<ReturnType<typeof both>>) => {
    expect(a.head.status).toBe(a.get.status);
    expect(headersOf(a.head)).toEqual(headersOf(a.get));
    expect(a.headBody.byteLength).toBe(0);
    expect(Number(a.get.headers.get('content-length'))).toBe(a.body.byteLength);
  };

  /** An error as the go command prints it: one plain-text line. */
  const oneLine = (a: Awaited<ReturnType<typeof both>>) => {
    expect(a.get.headers.get('content-type')).toStartWith('text/plain');
    const text = new TextDecoder().decode(a.body);
    expect(text).toEndWith('\n');
    expect(text.trimEnd()).not.toContain('\n');
  };

  test.each([
    ['the list', `${ESCAPED}/@v/list`],
    ['@latest', `${ESCAPED}/@latest`],
    ['an .info', version('v1.0.0', 'info')],
    ['a .mod', version('v1.0.0', 'mod')],
    ['a .zip', version('v1.0.0', 'zip')],
  ])('HEAD of %s answers the status and headers of GET, without a body', async (_, path) => {
    await stored(path);
    const answer = await both(path);
    expect(answer.get.status).toBe(200);
    sameButBodiless(answer);
  });

  test(".info is the reader's .info as JSON; .mod and .zip are the published bytes with their hash as ETag, which If-None-Match turns into a 304", async () => {
    const info = await world().request(version('v1.0.0', 'info'));
    expect(info.headers.get('content-type')).toBe('application/json');
    expect(await info.text()).toBe(await world().reader.info(CONTRACT_MODULE, 'v1.0.0'));
    const want = world().published.get('v1.0.0')!;
    for (const [ext, bytes, type] of [
      ['mod', want.mod, 'text/plain; charset=utf-8'],
      ['zip', want.zip, 'application/zip'],
    ] as const) {
      const path = version('v1.0.0', ext);
      await stored(path);
      const res = await world().request(path);
      const etag = `"sha256-${sha256(bytes)}"`;
      expect([res.status, res.headers.get('content-type'), res.headers.get('etag')]).toEqual([200, type, etag]);
      expect(hex(await bytesOf(res))).toBe(hex(bytes));
      const again = await world().request(path, { headers: { 'if-none-match': etag } });
      expect([again.status, (await bytesOf(again)).byteLength, again.headers.get('etag')]).toEqual([304, 0, etag]);
    }
  });

  test('a Range of a .zip is a 206 with its Content-Range and exactly that slice; HEAD answers the same without it', async () => {
    const zip = world().published.get('v1.1.0')!.zip;
    const path = version('v1.1.0', 'zip');
    await stored(path);
    const answer = await both(path, { range: 'bytes=10-109' });
    expect(answer.get.status).toBe(206);
    expect(answer.get.headers.get('content-range')).toBe(`bytes 10-109/${zip.byteLength}`);
    expect(hex(answer.body)).toBe(hex(zip.subarray(10, 110)));
    sameButBodiless(answer);
  });

  test.each([
    ['the list', 'example.com/contract/none/@v/list'],
    ['@latest', 'example.com/contract/none/@latest'],
  ])('%s of a module no one has is a 404, GET and HEAD alike', async (_, path) => {
    const answer = await both(path);
    expect(answer.get.status).toBe(404);
    oneLine(answer);
    sameButBodiless(answer);
  });

  test.each(['info', 'mod', 'zip'])('a version never had is a 404 for its .%s, GET and HEAD alike', async (ext) => {
    const answer = await both(version(MISSING, ext));
    expect(answer.get.status).toBe(404);
    oneLine(answer);
    sameButBodiless(answer);
  });

  // Only versions are held to 410 here. A module's list and @latest are a 410 where a proxy's upstream says so
  // (passed on: test/integration/proxy-metadata.test.ts, and by a group: group.test.ts), but a hosted repository
  // has no gone modules, only gone versions: its module whose versions were all deleted is one it does not have, a 404.
  test.each(['info', 'mod', 'zip'])('the gone version is a 410 for its .%s, GET and HEAD alike, asked again too', async (ext) => {
    for (let i = 0; i < 2; i++) {
      const answer = await both(version(GONE, ext));
      expect(answer.get.status).toBe(410);
      oneLine(answer);
      sameButBodiless(answer);
    }
  });
}
