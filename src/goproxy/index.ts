/** The Go module protocol as pure functions: no I/O beyond the reader handed to checkModuleZip. */
export { GoProtocolError, InvalidGoModError, InvalidPathError, InvalidVersionError, InvalidZipError } from "./errors.ts";
export { escapePath, escapeVersion, unescapePath, unescapeVersion } from "./escape.ts";
export {
  checkFilePath,
  checkImportPath,
  checkModulePath,
  checkPathMajor,
  checkPathVersion,
  isValidModulePath,
  splitPathVersion,
  type SplitPath,
} from "./module-path.ts";
export {
  canonicalVersion,
  compareSemver,
  compareVersions,
  isCanonicalVersion,
  isPrerelease,
  isPseudoVersion,
  isValidVersion,
  listVersions,
  pseudoVersionBase,
  pseudoVersionTime,
  selectLatest,
  sortVersions,
  versionMajor,
  type LatestCandidate,
} from "./version.ts";
export { GoRequestError, parseGoRequestPath, parseSumdbPath, type GoRequest, type SumdbRequest } from "./request-path.ts";
export {
  checkModuleZip,
  DEFAULT_ZIP_LIMITS,
  readerFromBytes,
  type CheckedZip,
  type CheckZipOptions,
  type RandomAccessReader,
  type ZipLimits,
} from "./zip-check.ts";
export type { InflateEngine } from "./inflate.ts";
export { goModHash, hash1, sha256Hex, type HashedFile } from "./dirhash.ts";
export { checkGoModModule, goModForZip, parseModuleDirective } from "./gomod.ts";
