/**
 * What a version must be before a module zip may be published under it, as the go command would
 * require of a version it downloads. Checked before any byte of the upload is read (the version)
 * and once the zip's go.mod is known (+incompatible).
 */
import { InvalidVersionError } from './errors';
import { checkPathVersion, splitPathVersion } from './module-path';
import { canonicalVersion, isCanonicalVersion, versionBuild, versionMajor } from './version';

const q = (s: string) => JSON.stringify(s);

/** Canonical (pseudo-versions included) and matching the path's major version suffix. */
export function checkUploadVersion(module: string, version: string): void {
  if (!isCanonicalVersion(version)) {
    let should = '';
    try {
      should = `; use ${canonicalVersion(version)}`;
    } catch {}
    throw new InvalidVersionError('version-not-canonical', `version ${q(version)} is not canonical${should}`);
  }
  checkPathVersion(module, version);
}

/**
 * The go command's rule for +incompatible (modfetch coderepo): only for a v2+ version of a module
 * whose path has no /vN suffix and whose zip has no go.mod, i.e. code that predates modules.
 */
export function checkIncompatible(module: string, version: string, hasGoMod: boolean): void {
  if (versionBuild(version) !== '+incompatible') return;
  const major = versionMajor(version);
  const refuse = (message: string) => new InvalidVersionError('version-incompatible', `version ${version} invalid: ${message}`);
  if (splitPathVersion(module).pathMajor !== '') {
    throw refuse(`+incompatible is not allowed for ${module}, whose path already has a major version suffix`);
  }
  if (major === 'v0' || major === 'v1') throw refuse(`+incompatible is not allowed, major version ${major} is compatible`);
  if (hasGoMod) throw refuse(`the zip has a go.mod, so the module path needs a /${major} suffix instead of +incompatible`);
}
