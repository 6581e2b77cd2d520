import { describe, expect, test } from 'bun:test';
import { hash1, sha256Hex } from './dirhash';
import { InvalidVersionError } from './errors';
import type { ModuleFile } from './module-files';
import { checkModuleZip, readerFromBytes } from './zip-check';
import { writeModuleZip } from './zip-create';
import { readCentralDirectory } from './zip-directory';

const M = 'example.com/made';
const V = 'v1.2.3';
const enc = new TextEncoder();
const contents: Record<string, Uint8Array> = {
  'go.mod': enc.encode(`module ${M}\n`),
  'a.go': enc.encode('package made\n'),
  'big/data.bin': crypto.getRandomValues(new Uint8Array(200_000)),
  'empty.txt': new Uint8Array(0),
};
const files: ModuleFile[] = Object.entries(contents).map(([path, d]) => ({ path, size: d.length, utf8: true }));

/** Serves a file in small chunks, so entries span many pushes. */
async function* chunks(path: string): AsyncIterable<Uint8Array> {
  const d = contents[path];
  for (let i = 0; i < d.length; i += 7000) yield d.subarray(i, i + 7000);
}

async function build(list = files, open = chunks): Promise<{ zip: Uint8Array; h1: string; zipSize: number }> {
  const parts: Uint8Array[] = [];
  const r = await writeModuleZip(M, V, list, open, (c) => void parts.push(c.slice()));
  return { zip: Buffer.concat(parts), h1: r.h1, zipSize: r.zipSize };
}

describe('writeModuleZip', () => {
  test('writes a zip the server check accepts, with the h1 it computed while writing', async () => {
    const { zip, h1, zipSize } = await build();
    expect(zipSize).toBe(zip.length);
    const checked = await checkModuleZip(readerFromBytes(zip), M, V);
    expect(checked.h1).toBe(h1);
    expect(checked.files).toBe(4);
    expect(h1).toBe(hash1(Object.entries(contents).map(([p, d]) => ({ name: `${M}@${V}/${p}`, sha256Hex: sha256Hex(d) }))));
  });

  // Go's archive/zip Create leaves the mode out too; only names and contents matter to the go command.
  test('lays entries out as zip.Create: prefixed names, deflate, no directory entries, no Unix modes', async () => {
    const entries = await readCentralDirectory(readerFromBytes((await build()).zip), 1 << 16);
    expect(entries.map((e) => e.name)).toEqual(files.map((f) => `${M}@${V}/${f.path}`));
    expect(new Set(entries.map((e) => e.method))).toEqual(new Set([8]));
    expect(new Set(entries.map((e) => e.externalAttrs))).toEqual(new Set([0]));
  });

  test('the same files give the same bytes', async () => {
    expect((await build()).zip).toEqual((await build()).zip);
  });

  test('without a sink it only hashes, to the same h1', async () => {
    const dry = await writeModuleZip(M, V, files, chunks, null);
    expect(dry.h1).toBe((await build()).h1);
    expect(dry.zipSize).toBe(0);
  });

  test('a file that grew or shrank since it was listed stops the zip, naming it', async () => {
    const grown = files.map((f) => (f.path === 'a.go' ? { ...f, size: f.size - 1 } : f));
    await expect(build(grown)).rejects.toThrow('a.go grew while it was being zipped');
    const shrunk = files.map((f) => (f.path === 'a.go' ? { ...f, size: f.size + 1 } : f));
    await expect(build(shrunk)).rejects.toThrow('a.go shrank while it was being zipped');
  });

  test('a version the path does not allow is refused before anything is read', async () => {
    let opened = 0;
    const open = (p: string) => {
      opened++;
      return chunks(p);
    };
    await expect(writeModuleZip(M, 'v2.0.0', files, open, null)).rejects.toBeInstanceOf(InvalidVersionError);
    await expect(writeModuleZip(M, 'v1.0', files, open, null)).rejects.toBeInstanceOf(InvalidVersionError);
    expect(opened).toBe(0);
  });

  test('an empty module is an empty zip', async () => {
    const { zip, h1 } = await build([]);
    expect((await checkModuleZip(readerFromBytes(zip), M, V)).h1).toBe(h1);
  });
});
