/**
 * The floor of any proxy written on Bun, for bench/cold-fill.bench.ts: a bare relay that streams an
 * upstream's body to its client, checking and storing nothing; with RELAY_HASHES=1 or 2 it hashes the bytes
 * with SHA-256 that many times on the way (a checked fill hashes twice: the zip's content address, and its
 * files for the h1: checksum). Not part of the product.
 *
 *   RELAY_UPSTREAM=http://127.0.0.1:PORT RELAY_HASHES=0 bun bench/support/relay-server.ts   (prints "relay listening on URL")
 */
const upstream = process.env.RELAY_UPSTREAM;
if (!upstream) throw new Error('RELAY_UPSTREAM is not set');
const hashes = Number(process.env.RELAY_HASHES ?? 0);

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(request) {
    const res = await fetch(`${upstream}${new URL(request.url).pathname}`);
    if (!res.body || hashes === 0) return new Response(res.body, { status: res.status, headers: res.headers });
    const hashers = Array.from({ length: hashes }, () => new Bun.CryptoHasher('sha256'));
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          for (const h of hashers) h.update(chunk);
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: res.status, headers: { 'content-length': res.headers.get('content-length') ?? '' } });
  },
});
console.log(`relay listening on ${server.url.href.replace(/\/$/, '')}`);
