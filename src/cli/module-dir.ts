/** The module directory on disk, as the goproxy rules read it (ModuleDirReader) and the zip writer opens it. */
import { lstat, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fullGcEvery } from '../full-gc';
import type { DirEntryInfo, DirName, ModuleDirReader } from '../goproxy/module-files';
import type { OpenModuleFile } from '../goproxy/zip-create';

/**
 * One pacer for the whole command (reading the module's files, then checking the zip it built): a full
 * collection every 32 MiB read keeps a 250 MB module's growth at 92 MB instead of 127 MB (bench/publish.bench.ts);
 * for a one-shot command the pauses do not matter.
 */
export const pacedGc = fullGcEvery(32 << 20);

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder();
const CHUNK = 256 * 1024;

function decodeName(raw: Buffer): DirName {
  try {
    return { name: utf8.decode(raw), utf8: true };
  } catch {
    return { name: lossy.decode(raw), utf8: false };
  }
}

export function fsModuleDir(root: string): ModuleDirReader & { open: OpenModuleFile } {
  // Names are read as bytes, so a name that is not UTF-8 is reported as such rather than silently altered.
  const rawPaths = new Map<string, Buffer>([['', Buffer.from(root)]]);
  const rawPath = (rel: string) => rawPaths.get(rel) ?? Buffer.from(join(root, rel));
  return {
    async readDir(rel) {
      const dir = rawPath(rel);
      const names = await readdir(dir, { encoding: 'buffer' });
      return names.map((raw) => {
        const n = decodeName(raw);
        rawPaths.set(rel === '' ? n.name : `${rel}/${n.name}`, Buffer.concat([dir, Buffer.from('/'), raw]));
        return n;
      });
    },
    async lstat(rel): Promise<DirEntryInfo | null> {
      try {
        const s = await lstat(rawPath(rel));
        const kind = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
        return { kind, size: s.size };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
        throw err;
      }
    },
    async readRootGoMod() {
      try {
        return await readFile(join(root, 'go.mod'));
      } catch {
        return null;
      }
    },
    async *open(rel) {
      const handle = await open(rawPath(rel), 'r');
      try {
        for (;;) {
          const buf = new Uint8Array(CHUNK);
          const { bytesRead } = await handle.read(buf, 0, CHUNK, null);
          if (bytesRead === 0) return;
          pacedGc(bytesRead);
          yield buf.subarray(0, bytesRead);
        }
      } finally {
        await handle.close();
      }
    },
  };
}
