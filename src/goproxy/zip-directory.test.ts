import { describe, expect, test } from 'bun:test';
import { buildZip, ZipWriter } from '../../test/support/zipbuild';
import { InvalidZipError } from './errors';
import { readerFromBytes } from './random-access';
import { openEntryData, readCentralDirectory } from './zip-directory';

const enc = new TextEncoder();
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
};

async function formatRule(bytes: Uint8Array): Promise<string> {
  try {
    await readCentralDirectory(readerFromBytes(bytes), 1024);
    return 'accepted';
  } catch (e) {
    if (e instanceof InvalidZipError) return e.rule;
    throw e;
  }
}

describe('readCentralDirectory', () => {
  test('lists entries with their names, sizes and methods in directory order', async () => {
    const zip = buildZip([
      { name: 'm@v1.0.0/b.go', data: 'package b\n' },
      { name: 'm@v1.0.0/a/', data: '' },
      { name: 'm@v1.0.0/a.txt', data: 'hello', method: 0 },
    ]);
    const got = await readCentralDirectory(readerFromBytes(zip), 7);
    expect(got.map((e) => [e.name, e.uncompressedSize, e.method])).toEqual([
      ['m@v1.0.0/b.go', 10, 8],
      ['m@v1.0.0/a/', 0, 0],
      ['m@v1.0.0/a.txt', 5, 0],
    ]);
  });

  test('reads zip64 end records and per-entry zip64 sizes', async () => {
    const zip = buildZip([{ name: 'm@v1.0.0/a.go', data: 'package a\n' }], { zip64: true });
    const [e] = await readCentralDirectory(readerFromBytes(zip), 64);
    expect([e.name, e.uncompressedSize, e.localHeaderOffset]).toEqual(['m@v1.0.0/a.go', 10, 0]);
  });

  // A self-extractor stub before the zip shifts every offset; archive/zip (and so the go command) allows it.
  test('tolerates data prepended to the archive', async () => {
    const zip = buildZip([{ name: 'm@v1.0.0/a.go', data: 'package a\n' }]);
    const shifted = concat(enc.encode('#!/bin/sh\nexit 0\n'), zip);
    const r = readerFromBytes(shifted);
    const [e] = await readCentralDirectory(r, 1024);
    const { start, head } = await openEntryData(r, e, e.name!, 1024);
    expect(start).toBeGreaterThan(17);
    expect(head.length).toBe(e.compressedSize);
  });

  // A 16-bit record count wraps past 65535 entries in archives written without zip64.
  test('accepts a wrapped 16-bit record count as archive/zip does', async () => {
    const w = new ZipWriter();
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < 65537; i++) chunks.push(...w.add({ name: `m@v1.0.0/${i}`, data: '', method: 0 }));
    chunks.push(...w.finish());
    const got = await readCentralDirectory(readerFromBytes(concat(...chunks)), 256 * 1024);
    expect(got.length).toBe(65537);
  }, 30_000);

  test('keeps a name that is not UTF-8 as null with its raw bytes', async () => {
    const raw = new Uint8Array([0x61, 0xff]);
    const [e] = await readCentralDirectory(readerFromBytes(buildZip([{ name: 'x', data: '', rawName: raw }])), 1024);
    expect(e.name).toBeNull();
    expect([...e.rawName!]).toEqual([0x61, 0xff]);
  });

  test.each([
    ['an empty file', new Uint8Array(0)],
    ['a text file', enc.encode('hello, this is not a zip file at all')],
    ['a zip cut short', buildZip([{ name: 'a', data: 'x' }]).subarray(0, 40)],
    [
      'a zip whose end record has been cut',
      (() => {
        const z = buildZip([{ name: 'a', data: 'x' }]);
        return z.subarray(0, z.length - 5);
      })(),
    ],
  ])('refuses %s as zip-format', async (_name, bytes) => {
    expect(await formatRule(bytes)).toBe('zip-format');
  });

  test('refuses a record count that disagrees with the directory', async () => {
    const zip = buildZip([
      { name: 'a', data: 'x' },
      { name: 'b', data: 'y' },
    ]);
    const bad = zip.slice();
    bad[bad.length - 22 + 10] = 3; // total records: 3, but only 2 are there
    expect(await formatRule(bad)).toBe('zip-format');
  });
});

describe('openEntryData', () => {
  test.each([1, 40, 1024])('finds the data just past the local header and name (reads of %p bytes)', async (chunkSize) => {
    const zip = buildZip([{ name: 'm@v1.0.0/a.txt', data: 'hello', method: 0 }]);
    const r = readerFromBytes(zip);
    const [e] = await readCentralDirectory(r, 1024);
    const { start, head } = await openEntryData(r, e, e.name!, chunkSize);
    expect(new TextDecoder().decode(zip.subarray(start, start + 5))).toBe('hello');
    expect(zip.subarray(start, start + head.length)).toEqual(new Uint8Array(head));
  });

  test('refuses a local header whose name differs from the central directory', async () => {
    const zip = buildZip([{ name: 'm@v1.0.0/a.txt', data: 'hello', localName: 'm@v1.0.0/b.txt' }]);
    const r = readerFromBytes(zip);
    const [e] = await readCentralDirectory(r, 1024);
    await expect(openEntryData(r, e, e.name!, 1024)).rejects.toMatchObject({ rule: 'local-header-mismatch' });
  });
});

describe('names as archive/zip sees them', () => {
  // A decoder that strips a byte-order mark would accept "\uFEFFm@v1.0.0/a" as "m@v1.0.0/a".
  test('a leading byte-order mark stays part of the name', async () => {
    const zip = buildZip([{ name: '\uFEFFm@v1.0.0/a.go', data: 'x' }]);
    const [e] = await readCentralDirectory(readerFromBytes(zip), 1024);
    expect(e.name).toBe('\uFEFFm@v1.0.0/a.go');
  });

  // Records beyond an understated directory size are still read by the go command, so they must be checked.
  test('records past an understated directory size are still read', async () => {
    const zip = buildZip([
      { name: 'a', data: 'x' },
      { name: 'b', data: 'y' },
    ]);
    const bad = zip.slice();
    const dv = new DataView(bad.buffer);
    const eocd = bad.length - 22;
    dv.setUint32(eocd + 12, dv.getUint32(eocd + 12, true) - 40, true);
    const got = await readCentralDirectory(readerFromBytes(bad), 1024);
    expect(got.map((e) => e.name)).toEqual(['a', 'b']);
  });
});
