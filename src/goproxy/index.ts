/** The Go module protocol as pure functions: no I/O beyond the reader handed to checkModuleZip. */

export { goModHash, type HashedFile, hash1, sha256Hex } from './dirhash';
export { GoProtocolError, InvalidGoModError, InvalidPathError, InvalidVersionError, InvalidZipError } from './errors';
export { escapePath, escapeVersion, unescapePath, unescapeVersion } from './escape';
export { checkGoModModule, goModForZip, parseModuleDirective, replaceOnlyNote } from './gomod';
export type { InflateEngine } from './inflate';
export { formatInfo, type GoInfo, InvalidInfoError, parseInfo } from './info';
export {
  checkFilePath,
  checkImportPath,
  checkModulePath,
  checkPathMajor,
  checkPathVersion,
  isValidModulePath,
  type SplitPath,
  splitPathVersion,
} from './module-path';
export { checkIncompatible, checkUploadVersion } from './publish-rules';
export { type RandomAccessReader, readerFromBytes, windowedReader } from './random-access';
export { type GoRequest, GoRequestError, goPaths, parseGoRequestPath, parseSumdbPath, type SumdbRequest } from './request-path';
export {
  type GoSumdb,
  parseGosumdb,
  parseLookup,
  SumdbError,
  type SumdbRecord,
  sumdbLookupPath,
} from './sumdb-record';
export { openSignedNote, parseVerifierKey, type VerifierKey, verifyInclusion, verifyLookup } from './sumdb-verify';
export {
  canonicalVersion,
  compareSemver,
  compareVersions,
  isCanonicalVersion,
  isPrerelease,
  isPseudoVersion,
  isValidVersion,
  type LatestCandidate,
  latestFromList,
  listVersions,
  parseVersionList,
  passThroughVersions,
  pseudoVersionBase,
  pseudoVersionTime,
  selectLatest,
  sortVersions,
  versionMajor,
} from './version';
export {
  type CheckedZip,
  type CheckZipOptions,
  checkModuleZip,
  DEFAULT_ZIP_LIMITS,
  type ZipLimits,
} from './zip-check';
