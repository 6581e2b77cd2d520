/**
 * What to tell someone about a zip they made by hand: the zips people make
 * fail the prefix rule in a few typical ways, each with its own fix; and an
 * accepted zip may hold files the go command's own zip would not.
 */
import { isVendoredPackage, VCS_DIRS, vendorRules124 } from './left-out';

const q = (s: string) => JSON.stringify(s);

/** The command that builds a correct zip, named the same way in every hint. */
export const PUBLISHER_COMMAND = 'bunx orbitrepos-go publish';

/**
 * The reason given for an entry outside "{module}@{version}/". The go command
 * refuses every such entry, directory entries of the folders above included,
 * so the hint explains how the zip came to have it.
 */
export function prefixRefusal(entry: string, prefix: string): string {
  const base = `path does not start with ${q(prefix)}`;
  const top = prefix.slice(0, prefix.indexOf('/') + 1);
  const recipe = `copy the module into a folder named ${q(prefix.slice(0, -1))} and run "zip -r -D module.zip ${top.slice(0, -1)}" in the folder above ${q(top)}`;
  if (entry.endsWith('/') && prefix.startsWith(entry)) {
    return `${base}: it is a directory entry for a folder above the module, which "zip -r" writes unless given -D; zip with "zip -r -D", or build the zip with "${PUBLISHER_COMMAND}"`;
  }
  const other = /^([^/]+(?:\/[^/@]+)*@v[^/]+)\//.exec(entry);
  if (other && `${other[1]}/` !== prefix) {
    return `${base}: the zip holds ${other[1]}, not the module and version the URL names; upload it under its own URL, or rebuild it for this one with "${PUBLISHER_COMMAND}"`;
  }
  return `${base}: every file of a module zip sits under that folder; build the zip with "${PUBLISHER_COMMAND}", or ${recipe}`;
}

/**
 * Notes on an accepted zip holding files the go command's own zip of the same
 * directory would not have (version control directories, vendored packages):
 * CheckZip accepts them, so the server does too, but the h1: then differs from
 * what `go mod download` computes from the module's repository. Given the
 * paths of the zip's files after the prefix, and its go.mod's `go` version.
 */
export function leftOutNotes(paths: readonly string[], goVersion: string | null): string[] {
  const go124 = vendorRules124(goVersion);
  const vcs = paths.filter(
    (p) =>
      p
        .split('/')
        .slice(0, -1)
        .some((e) => VCS_DIRS.has(e)) || p === '.hg_archival.txt',
  );
  const vendored = paths.filter((p) => isVendoredPackage(p, go124));
  const notes: string[] = [];
  const some = (list: string[]) => `${list.length} file${list.length === 1 ? '' : 's'} (first ${q(list[0])})`;
  if (vcs.length > 0) {
    notes.push(
      `the zip holds version control files, ${some(vcs)}: the go command leaves them out of the zips it builds, so this h1: differs from the one go mod download computes from the module's repository; "${PUBLISHER_COMMAND}" leaves them out too`,
    );
  }
  if (vendored.length > 0) {
    notes.push(
      `the zip holds vendored packages, ${some(vendored)}: the go command leaves them out of the zips it builds, so this h1: differs from the one go mod download computes from the module's repository; "${PUBLISHER_COMMAND}" leaves them out too`,
    );
  }
  return notes;
}
