/**
 * ORBITREPO_TRUSTED_PROXIES: behind a reverse proxy every peer is the proxy, so the client is in X-Forwarded-For.
 * That header is anyone's to write, so it counts only when the peer is a proxy we trust, and then only up to the
 * right-most entry that is not itself a trusted proxy (what a client wrote left of that is not believed).
 */

interface Cidr {
  v6: boolean;
  base: bigint;
  mask: bigint;
}

export class TrustedProxies {
  private constructor(private readonly ranges: Cidr[]) {}

  static readonly none = new TrustedProxies([]);

  /** Comma-separated CIDRs or single addresses, IPv4 and IPv6; throws with the bad entry named. */
  static parse(list: string): TrustedProxies {
    const ranges: Cidr[] = [];
    for (const raw of list.split(',')) {
      const entry = raw.trim();
      if (!entry) continue;
      const [addr, bitsText, extra] = entry.split('/');
      const ip = parseIp(addr);
      if (!ip || extra !== undefined) throw new Error(`"${entry}" is not an IP address or CIDR range`);
      const width = ip.v6 ? 128 : 32;
      const bits = bitsText === undefined ? width : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
      if (!(bits >= 0 && bits <= width)) throw new Error(`"${entry}": the prefix length must be 0 to ${width}`);
      const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
      ranges.push({ v6: ip.v6, base: ip.value & mask, mask });
    }
    return new TrustedProxies(ranges);
  }

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  trusts(address: string): boolean {
    const ip = parseIp(address);
    return !!ip && this.ranges.some((r) => r.v6 === ip.v6 && (ip.value & r.mask) === r.base);
  }

  /** The client's address: the peer, unless the peer is trusted and X-Forwarded-For names someone further out. */
  clientAddress(peer: string, forwardedFor: string | null): string {
    if (!forwardedFor || this.empty || !this.trusts(peer)) return peer;
    let client = peer;
    const hops = forwardedFor.split(',').map((h) => h.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = stripPort(hops[i]);
      // Garbage can only stand here if a trusted proxy wrote it: keep the last address we could vouch for.
      if (!parseIp(hop)) return client;
      client = hop;
      if (!this.trusts(hop)) return hop;
    }
    return client;
  }
}

/** "1.2.3.4:5678" and "[::1]:5678" as some proxies write them; a bare IPv6 address keeps its colons. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1];
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4port ? v4port[1] : hop;
}

/** IPv4 as a 32-bit value; IPv6 as 128 bits, with IPv4-mapped addresses (::ffff:a.b.c.d) read as the IPv4 address. */
export function parseIp(text: string): { v6: boolean; value: bigint } | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { v6: false, value: v4 };
  const v6 = parseV6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { v6: false, value: v6 & 0xffffffffn };
  return { v6: true, value: v6 };
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    value = (value << 8n) | BigInt(p);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  const zoneless = text.replace(/%.*$/, '');
  if (!/^[0-9a-fA-F:.]+$/.test(zoneless) || !zoneless.includes(':')) return undefined;
  const halves = zoneless.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseV4(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) out.push(Number.parseInt(item, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const g of [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail]) value = (value << 16n) | BigInt(g);
  return value;
}
