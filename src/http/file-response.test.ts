import { describe, expect, test } from 'bun:test';
import { RangeNotSatisfiable } from '../errors';
import type { FileRange, GoFile } from '../repos/repository';
import { etagMatches, fileResponse, parseRange, textResponse } from './file-response';

const BODY = new TextEncoder().encode('0123456789');
const ETAG = '"sha256-abc"';
/** A file that records what was opened, so tests see that HEAD and 304 never open the body. */
function file(): GoFile & { opened: unknown[] } {
  const opened: unknown[] = [];
  return {
    size: BODY.byteLength,
    etag: ETAG,
    opened,
    open: async (range) => {
      opened.push(range ?? 'whole');
      return new Blob([range ? BODY.subarray(range.start, range.end + 1) : BODY]).stream();
    },
  };
}
const req = (headers: Record<string, string> = {}, method = 'GET') => new Request('http://x/f', { method, headers });

describe('parseRange', () => {
  test.each([
    ['bytes=0-3', { start: 0, end: 3 }],
    ['bytes=5-', { start: 5, end: 9 }],
    ['bytes=-4', { start: 6, end: 9 }],
    ['bytes=8-100', { start: 8, end: 9 }],
    ['bytes=-100', { start: 0, end: 9 }],
  ])('%s of a 10-byte file is %p', (header, range) => {
    expect(parseRange(header, 10)).toEqual(range);
  });

  test.each([[null], ['bytes=0-1,4-5'], ['items=0-1'], ['bytes=-'], ['bytes=5-2']])('%p means the whole body', (header) => {
    expect(parseRange(header, 10)).toBeNull();
  });

  test.each([['bytes=10-'], ['bytes=-0']])('%s is not satisfiable', (header) => {
    expect(() => parseRange(header, 10)).toThrow(RangeNotSatisfiable);
  });
});

test('If-None-Match matches the ETag in a list, weak or not, and *', () => {
  expect(etagMatches(`"other", W/${ETAG}`, ETAG)).toBe(true);
  expect(etagMatches('*', ETAG)).toBe(true);
  expect(etagMatches('"other"', ETAG)).toBe(false);
  expect(etagMatches(null, ETAG)).toBe(false);
});

describe('fileResponse', () => {
  test('a GET is the whole body with its ETag and length', async () => {
    const res = await fileResponse(req(), file(), 'application/zip', 'public');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(ETAG);
    expect(res.headers.get('content-length')).toBe('10');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(await res.text()).toBe('0123456789');
  });

  test('a matching If-None-Match is 304 and the body is never opened', async () => {
    const f = file();
    expect((await fileResponse(req({ 'if-none-match': ETAG }), f, 'application/zip', 'public')).status).toBe(304);
    expect(f.opened).toEqual([]);
  });

  test('a HEAD has the headers of the GET and no body, and the body is never opened', async () => {
    const f = file();
    const res = await fileResponse(req({}, 'HEAD'), f, 'application/zip', 'public');
    expect([res.status, res.headers.get('content-length'), await res.text()]).toEqual([200, '10', '']);
    expect(f.opened).toEqual([]);
  });

  test('a Range is 206 with Content-Range, opening only that slice', async () => {
    const f = file();
    const res = await fileResponse(req({ range: 'bytes=2-4' }), f, 'application/zip', 'public');
    expect([res.status, res.headers.get('content-range'), res.headers.get('content-length')]).toEqual([206, 'bytes 2-4/10', '3']);
    expect(await res.text()).toBe('234');
    expect(f.opened).toEqual([{ start: 2, end: 4 }]);
  });

  test('an If-Range that is not the current ETag sends the whole body', async () => {
    const res = await fileResponse(req({ range: 'bytes=2-4', 'if-range': '"old"' }), file(), 'application/zip', 'public');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('0123456789');
    const same = await fileResponse(req({ range: 'bytes=2-4', 'if-range': ETAG }), file(), 'application/zip', 'public');
    expect(same.status).toBe(206);
  });

  test('an unsatisfiable Range is refused as RangeNotSatisfiable', async () => {
    expect(() => fileResponse(req({ range: 'bytes=10-' }), file(), 'application/zip', 'public')).toThrow(RangeNotSatisfiable);
  });
});

/** A file storage hands over as a Blob (as the filesystem store's does), recording what was asked of it. */
function fileWithBlob(blob: (range?: FileRange) => Blob | undefined = (r) => new Blob([r ? BODY.subarray(r.start, r.end + 1) : BODY])) {
  const f = file();
  const asked: unknown[] = [];
  return Object.assign(f, {
    asked,
    blob: (range?: FileRange) => {
      asked.push(range ?? 'whole');
      return blob(range);
    },
  });
}

describe('fileResponse of a file storage gives as a Blob', () => {
  test('a GET sends the Blob, never opening a stream, with the headers of a streamed answer', async () => {
    const f = fileWithBlob();
    const res = await fileResponse(req(), f, 'application/zip', 'public');
    expect([res.status, res.headers.get('etag'), res.headers.get('content-length'), res.headers.get('accept-ranges')]).toEqual([
      200,
      ETAG,
      '10',
      'bytes',
    ]);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(await res.text()).toBe('0123456789');
    expect([f.asked, f.opened]).toEqual([['whole'], []]);
  });

  // Bun names a file body it sends after the file (the blob's hash) unless a Content-Disposition is there.
  test('the answer says Content-Disposition: inline, HEAD included, and never a file name', async () => {
    for (const r of [req(), req({}, 'HEAD'), req({ range: 'bytes=0-1' })]) {
      expect((await fileResponse(r, fileWithBlob(), 'application/zip', 'public')).headers.get('content-disposition')).toBe('inline');
    }
    expect((await fileResponse(req(), file(), 'application/zip', 'public')).headers.get('content-disposition')).toBeNull();
  });

  test('a Range sends only that slice of the Blob', async () => {
    const f = fileWithBlob();
    const res = await fileResponse(req({ range: 'bytes=2-4' }), f, 'application/zip', 'public');
    expect([res.status, res.headers.get('content-range'), res.headers.get('content-length')]).toEqual([206, 'bytes 2-4/10', '3']);
    expect(await res.text()).toBe('234');
    expect([f.asked, f.opened]).toEqual([[{ start: 2, end: 4 }], []]);
  });

  test('HEAD and a 304 ask for no Blob', async () => {
    const f = fileWithBlob();
    expect((await fileResponse(req({}, 'HEAD'), f, 'application/zip', 'public')).status).toBe(200);
    expect((await fileResponse(req({ range: 'bytes=2-4' }, 'HEAD'), f, 'application/zip', 'public')).status).toBe(206);
    expect((await fileResponse(req({ 'if-none-match': ETAG }), f, 'application/zip', 'public')).status).toBe(304);
    expect([f.asked, f.opened]).toEqual([[], []]);
  });

  test('no Blob to be had (the blob is gone, or not what the row says) falls back to the stream', async () => {
    const f = fileWithBlob(() => undefined);
    const res = await fileResponse(req(), f, 'application/zip', 'public');
    expect(await res.text()).toBe('0123456789');
    expect([f.asked, f.opened]).toEqual([['whole'], ['whole']]);
  });

  // Bun answers a 200 with an empty file body as a 204.
  test('an empty file is never sent as a Blob', async () => {
    const f = Object.assign(fileWithBlob(), { size: 0 });
    const res = await fileResponse(req(), f, 'application/zip', 'public');
    expect(res.status).toBe(200);
    expect(f.asked).toEqual([]);
  });
});

test('textResponse counts bytes, not characters, and sends no body to HEAD', async () => {
  const res = textResponse(req(), 'é\n', 'text/plain', 'public');
  expect(res.headers.get('content-length')).toBe('3');
  expect(await textResponse(req({}, 'HEAD'), 'é\n', 'text/plain', 'public').text()).toBe('');
});
