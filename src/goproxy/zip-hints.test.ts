import { describe, expect, test } from 'bun:test';
import { buildModuleZip, buildZip } from '../../test/support/zipbuild';
import { InvalidZipError } from './errors';
import { checkModuleZip, readerFromBytes } from './zip-check';
import { leftOutNotes } from './zip-hints';

const M = 'github.com/myuser/my-module';
const V = 'v1.0.0';
const P = `${M}@${V}/`;

async function reason(zip: Uint8Array, module = M, version = V): Promise<InvalidZipError> {
  try {
    await checkModuleZip(readerFromBytes(zip), module, version);
  } catch (e) {
    if (e instanceof InvalidZipError) return e;
    throw e;
  }
  throw new Error('zip was accepted');
}

describe('a zip refused for its layout says how to make one that is accepted', () => {
  test('files zipped from inside the module directory: the reason names the folder expected, the publisher and zip -r -D', async () => {
    const e = await reason(
      buildZip([
        { name: 'go.mod', data: `module ${M}\n` },
        { name: 'a.go', data: 'package a\n' },
      ]),
    );
    expect(e.rule).toBe('path-prefix');
    expect(e.message).toStartWith(`zip entry "go.mod": path does not start with "${P}"`);
    expect(e.message).toContain('bunx orbitrepos-go publish');
    expect(e.message).toContain(`a folder named "${P.slice(0, -1)}"`);
    expect(e.message).toContain('"zip -r -D module.zip github.com" in the folder above "github.com/"');
  });

  test('the folder entries zip -r writes above the module: the reason says they come from zip -r and that -D leaves them out', async () => {
    const zip = buildZip([
      { name: 'github.com/' },
      { name: 'github.com/myuser/' },
      { name: P },
      { name: `${P}go.mod`, data: `module ${M}\n` },
    ]);
    const e = await reason(zip);
    expect(e.rule).toBe('path-prefix');
    expect(e.entry).toBe('github.com/');
    expect(e.message).toContain('a directory entry for a folder above the module');
    expect(e.message).toContain('"zip -r -D"');
  });

  test('a zip of another version: the reason names what the zip holds', async () => {
    const e = await reason(buildModuleZip(M, 'v1.0.0', { 'go.mod': `module ${M}\n` }), M, 'v1.0.1');
    expect(e.rule).toBe('path-prefix');
    expect(e.message).toContain(`the zip holds ${M}@v1.0.0, not the module and version the URL names`);
  });
});

describe('what the go command accepts in a zip, the server accepts', () => {
  // CheckZip skips the entry for the module folder itself and checks folder entries inside it like files.
  test('directory entries for the module folder and the folders inside it', async () => {
    const zip = buildZip([
      { name: P },
      { name: `${P}sub/` },
      { name: `${P}go.mod`, data: `module ${M}\n` },
      { name: `${P}sub/s.go`, data: 'package sub\n' },
    ]);
    expect((await checkModuleZip(readerFromBytes(zip), M, V)).files).toBe(2);
  });

  // CreateFromDir would leave .git/ and vendor/ out, but CheckZip does not look for them: accepted, with a note each.
  test('a .git directory and vendored packages, each with a note', async () => {
    const zip = buildModuleZip(M, V, { 'go.mod': `module ${M}\n`, '.git/config': '[core]\n', 'vendor/example.com/d/d.go': 'package d\n' });
    const got = await checkModuleZip(readerFromBytes(zip), M, V);
    expect(got.files).toBe(3);
    expect(got.notes.map((n) => n.slice(0, n.indexOf(':')))).toEqual([
      'the zip holds version control files, 1 file (first ".git/config")',
      'the zip holds vendored packages, 1 file (first "vendor/example.com/d/d.go")',
    ]);
  });

  test('but not a nested module: its go.mod is refused under gomod-not-root, with why', async () => {
    const e = await reason(buildModuleZip(M, V, { 'go.mod': `module ${M}\n`, 'sub/go.mod': `module ${M}/sub\n` }));
    expect(e.rule).toBe('gomod-not-root');
    expect(e.message).toContain('a subdirectory with a go.mod is another module');
  });
});

describe('leftOutNotes', () => {
  test('follows the go line for which vendor/ files count as vendored', () => {
    expect(leftOutNotes(['go.mod', 'vendor/modules.txt'], '1.23')).toEqual([]);
    expect(leftOutNotes(['go.mod', 'vendor/modules.txt'], '1.24')).toHaveLength(1);
  });

  test('a VCS directory anywhere counts, a file of that name does not', () => {
    expect(leftOutNotes(['a/b/.hg/store', 'c/.svn/x'], null)[0]).toContain('2 files (first "a/b/.hg/store")');
    expect(leftOutNotes(['.git', 'x/.bzr'], null)).toEqual([]);
  });

  test('a zip without such files has no notes', () => {
    expect(leftOutNotes(['go.mod', 'a.go', 'testdata/x'], '1.24')).toEqual([]);
  });
});
