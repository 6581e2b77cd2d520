/**
 * What to tell someone whose zip the prefix rule refused: the zips people
 * make by hand fail it in a few typical ways, and each has its own fix.
 */

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
