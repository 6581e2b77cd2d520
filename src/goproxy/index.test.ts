import { expect, test } from 'bun:test';
import * as goproxy from './index';

// Other modules code against these names; renaming one must fail here first.
test.each([
  'GoProtocolError',
  'InvalidPathError',
  'InvalidVersionError',
  'InvalidZipError',
  'InvalidGoModError',
  'escapePath',
  'unescapePath',
  'escapeVersion',
  'unescapeVersion',
  'checkModulePath',
  'checkImportPath',
  'checkFilePath',
  'splitPathVersion',
  'checkPathMajor',
  'checkPathVersion',
  'isValidModulePath',
  'isValidVersion',
  'isCanonicalVersion',
  'canonicalVersion',
  'compareVersions',
  'isPseudoVersion',
  'pseudoVersionTime',
  'pseudoVersionBase',
  'isPrerelease',
  'sortVersions',
  'listVersions',
  'selectLatest',
  'parseGoRequestPath',
  'GoRequestError',
  'parseSumdbPath',
  'checkModuleZip',
  'readerFromBytes',
  'windowedReader',
  'formatInfo',
  'parseInfo',
  'InvalidInfoError',
  'checkUploadVersion',
  'checkIncompatible',
  'hash1',
  'goModHash',
  'parseModuleDirective',
  'goModForZip',
  'checkGoModModule',
  'replaceOnlyNote',
])('the package exports %s', (name) => {
  expect(typeof (goproxy as Record<string, unknown>)[name]).toBe('function');
});

test('GoRequestError is a GoProtocolError carrying an HTTP status', () => {
  const e = new goproxy.GoRequestError(404, 'not-protocol-path', 'nope');
  expect(e).toBeInstanceOf(goproxy.GoProtocolError);
  expect(e.status).toBe(404);
});
