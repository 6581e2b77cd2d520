import type { ModuleVersionRow } from '../db/schema';
import { inflateRaw } from '../goproxy/inflate';
import { windowedReader } from '../goproxy/random-access';
import { type CentralEntry, openEntryData, readCentralDirectory } from '../goproxy/zip-directory';
import type { BlobStore } from '../storage/blob-store';
import { BLOB_WINDOW_BYTES, blobReader } from './blob-reader';

/** A README as found in a module zip, cut at README_MAX_BYTES. */
export interface Readme {
  /** Its name inside the module, e.g. README.md. */
  name: string;
  text: string;
  /** True when the file was longer than README_MAX_BYTES and only its start is here. */
  truncated: boolean;
}

/** More than any README worth rendering; a longer one shows its start and says so. */
export const README_MAX_BYTES = 256 * 1024;
/** Published zips were checked against the go command's limit; this only bounds a directory read for a preview. */
const MAX_ENTRIES = 200_000;
const NAMES = ['readme.md', 'readme.markdown', 'readme', 'readme.txt', 'readme.rst'];
const STORED = 0;
const DEFLATE = 8;

class Enough extends Error {}

/** The README at the root of a version's zip, read by ranges from storage (the zip is never whole in memory); null: none. */
export async function readReadme(storage: BlobStore, row: ModuleVersionRow): Promise<Readme | null> {
  if (!row.zipKey) return null;
  const stat = await storage.head(row.zipKey);
  if (!stat) return null;
  const reader = windowedReader(blobReader(storage, row.zipKey, stat.size), BLOB_WINDOW_BYTES);
  const entries = await readCentralDirectory(reader, BLOB_WINDOW_BYTES, MAX_ENTRIES);
  const root = `${row.modulePath}@${row.version}/`;
  let found: { entry: CentralEntry; name: string; rank: number } | null = null;
  for (const entry of entries) {
    if (!entry.name?.startsWith(root)) continue;
    const name = entry.name.slice(root.length);
    const rank = NAMES.indexOf(name.toLowerCase());
    // README.md before readme.md: the exact upper-case name wins a tie.
    const score = rank * 2 + (name === name.toUpperCase().replace(/\.MD$/, '.md') ? 0 : 1);
    if (rank >= 0 && (!found || score < found.rank)) found = { entry, name, rank: score };
  }
  if (!found || (found.entry.method !== STORED && found.entry.method !== DEFLATE)) return null;
  const { entry, name } = found;
  const data = await openEntryData(reader, entry, entry.name!, BLOB_WINDOW_BYTES);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const keep = (c: Uint8Array) => {
    const take = Math.min(c.byteLength, README_MAX_BYTES - size);
    chunks.push(c.subarray(0, take));
    size += take;
    if (size >= README_MAX_BYTES) throw new Enough();
  };
  const compressed = async function* () {
    let offset = data.start;
    const end = data.start + entry.compressedSize;
    while (offset < end) {
      const length = Math.min(64 * 1024, end - offset);
      yield await reader.read(offset, length);
      offset += length;
    }
  };
  try {
    if (entry.method === STORED) {
      for await (const c of compressed()) keep(c);
    } else {
      await inflateRaw('fflate', compressed(), keep);
    }
  } catch (err) {
    if (!(err instanceof Enough)) throw err;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { name, text: new TextDecoder().decode(bytes), truncated: entry.uncompressedSize > README_MAX_BYTES };
}
