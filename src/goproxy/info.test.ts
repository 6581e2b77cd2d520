import { describe, expect, test } from 'bun:test';
import { formatInfo, InvalidInfoError, parseInfo } from './info';

describe('formatInfo', () => {
  test('.info has Version and Time to the second in UTC, as public proxies write it', () => {
    expect(formatInfo('v1.2.3', new Date('2024-05-06T07:08:09.123Z'))).toBe('{"Version":"v1.2.3","Time":"2024-05-06T07:08:09Z"}');
  });

  test('what formatInfo writes, parseInfo reads back', () => {
    const text = formatInfo('v0.0.0-20240102030405-abcdefabcdef', new Date('2024-01-02T03:04:05Z'));
    expect(parseInfo(text)).toEqual({ version: 'v0.0.0-20240102030405-abcdefabcdef', time: '2024-01-02T03:04:05Z', text });
  });
});

describe('parseInfo', () => {
  test('other fields (Origin) are kept in the text, unchanged', () => {
    const text = '{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z","Origin":{"VCS":"git"}}';
    expect(parseInfo(text).text).toBe(text);
  });

  test.each([
    ['<html>', 'is not JSON'],
    ['[1]', 'is not a JSON object'],
    ['null', 'is not a JSON object'],
    ['{}', 'has no canonical Version (got "undefined")'],
    ['{"Version":"master"}', 'has no canonical Version (got "master")'],
    ['{"Version":"v1.0"}', 'has no canonical Version'],
    ['{"Version":"v1.0.0","Time":"yesterday"}', 'has an invalid Time "yesterday"'],
    ['{"Version":"v1.0.0","Time":12}', 'has an invalid Time "12"'],
    ['{"Version":"v0.0.0-20241399999999-abcdefabcdef"}', 'has neither a Time nor a valid pseudo-version time'],
  ])('%s is refused: %s', (text, message) => {
    const err = (() => {
      try {
        parseInfo(text);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInfoError);
    expect((err as Error).message).toStartWith(message);
  });

  test('a PUT body may leave Version out and its Time is not looked at', () => {
    expect(parseInfo('{"Time":"whenever"}', { versionOptional: true, ignoreTime: true }).version).toBe('');
    expect(parseInfo('{"Version":"v1.0.0","Time":"whenever"}', { versionOptional: true, ignoreTime: true }).version).toBe('v1.0.0');
    expect(() => parseInfo('{"Version":"v1"}', { versionOptional: true, ignoreTime: true })).toThrow(InvalidInfoError);
  });
});
