import { expect, test } from 'bun:test';
import { parseIp, TrustedProxies } from './trusted-proxies';

const trusted = TrustedProxies.parse('10.0.0.0/8, 192.168.1.7, fd00::/8, ::1');

test.each([
  ['an address inside an IPv4 range', '10.20.30.40', true],
  ['a single IPv4 address given without a prefix length', '192.168.1.7', true],
  ['its neighbour', '192.168.1.8', false],
  ['an IPv4-mapped IPv6 peer inside an IPv4 range', '::ffff:10.1.2.3', true],
  ['an address inside an IPv6 range', 'fd12:3456::1', true],
  ['the IPv6 loopback given as one address', '::1', true],
  ['an IPv6 address outside every range', '2001:db8::1', false],
  ['garbage', 'not-an-ip', false],
])('trusts %s: %s -> %p', (_what, address, expected) => {
  expect(trusted.trusts(address)).toBe(expected);
});

test.each([
  ['an untrusted peer: its header is ignored, whatever it says', '203.0.113.9', '1.1.1.1', '203.0.113.9'],
  ['a trusted peer: the right-most entry that is not a trusted proxy', '10.0.0.1', '6.6.6.6, 198.51.100.4, 10.0.0.2', '198.51.100.4'],
  ['a trusted peer and no header: the peer', '10.0.0.1', null, '10.0.0.1'],
  ['every entry trusted: the left-most', '10.0.0.1', '10.9.9.9, 10.0.0.2', '10.9.9.9'],
  ['garbage written through a trusted hop: the last address vouched for', '10.0.0.1', 'drop table, 10.0.0.2', '10.0.0.2'],
  ['ports and brackets as some proxies write them', '10.0.0.1', '[2001:db8::5]:443, 198.51.100.4:1234', '198.51.100.4'],
])('client address behind %s', (_what, peer, header, expected) => {
  expect(trusted.clientAddress(peer, header)).toBe(expected);
});

test('no trusted proxies: the peer always, so a client cannot spoof its address', () => {
  expect(TrustedProxies.none.clientAddress('10.0.0.1', '1.2.3.4')).toBe('10.0.0.1');
});

test.each(['10.0.0.0/33', '10.0.0/8', 'fd00::/129', '1.2.3.4/8/2', 'example.com', '::ffff::1'])('refuses the entry %s', (entry) => {
  expect(() => TrustedProxies.parse(entry)).toThrow(entry);
});

test('parses IPv6 forms: compressed, full, with an embedded IPv4 tail', () => {
  expect(parseIp('2001:db8::1')?.value).toBe(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001')?.value);
  expect(parseIp('64:ff9b::192.0.2.33')?.value).toBe((0x64n << 112n) | (0xff9bn << 96n) | 0xc0000221n);
});
