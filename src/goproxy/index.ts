/** The Go module protocol as pure functions: no I/O beyond the reader handed to checkModuleZip. */

export { goModHash, type HashedFile, hash1, sha256Hex } from './dirhash.ts';
export { GoProtocolError, InvalidGoModError, InvalidPathError, InvalidVersionError, InvalidZipError } from './errors.ts';
export { escapePath, escapeVersion, unescapePath, unescapeVersion } from './escape.ts';
export { checkGoModModule, goModForZip, parseModuleDirective } from './gomod.ts';
export type { InflateEngine } from './inflate.ts';
export {
  checkFilePath,
  checkImportPath,
  checkModulePath,
  checkPathMajor,
  checkPathVersion,
  isValidModulePath,
  type SplitPath,
  splitPathVersion,
} from './module-path.ts';
export { type GoRequest, GoRequestError, parseGoRequestPath, parseSumdbPath, type SumdbRequest } from './request-path.ts';
export {
  canonicalVersion,
  compareSemver,
  compareVersions,
  isCanonicalVersion,
  isPrerelease,
  isPseudoVersion,
  isValidVersion,
  type LatestCandidate,
  listVersions,
  pseudoVersionBase,
  pseudoVersionTime,
  selectLatest,
  sortVersions,
  versionMajor,
} from './version.ts';
export {
  type CheckedZip,
  type CheckZipOptions,
  checkModuleZip,
  DEFAULT_ZIP_LIMITS,
  type RandomAccessReader,
  readerFromBytes,
  type ZipLimits,
} from './zip-check.ts';
