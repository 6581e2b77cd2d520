import { expect, test } from 'bun:test';
import { GoProtocolError, InvalidGoModError, InvalidPathError, InvalidVersionError, InvalidZipError } from './errors';

test.each([InvalidPathError, InvalidVersionError, InvalidGoModError, InvalidZipError])(
  '%p is a GoProtocolError so the HTTP layer can map the family to 400 in one place',
  (Cls) => {
    const e = new Cls('some-rule', 'what is wrong');
    expect(e).toBeInstanceOf(GoProtocolError);
    expect(e).toBeInstanceOf(Error);
    expect(e.rule).toBe('some-rule');
    expect(e.message).toBe('what is wrong');
    expect(e.name).toBe(Cls.name);
  },
);

test('an InvalidZipError carries the entry it is about', () => {
  const e = new InvalidZipError('path-dot-element', 'zip entry "m@v1.0.0/../a": path element ".." is not allowed', 'm@v1.0.0/../a');
  expect(e.entry).toBe('m@v1.0.0/../a');
  expect(new InvalidZipError('zip-too-large', 'too big').entry).toBeUndefined();
});
