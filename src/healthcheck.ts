export {};

// Container HEALTHCHECK: asks this server's /health over loopback, over TLS when the server serves TLS.
const port = process.env.ORBITREPO_PORT || '8080';
const scheme = process.env.ORBITREPO_TLS_CERT_FILE ? 'https' : 'http';
// Loopback when the server listens on every address; otherwise the one address it listens on.
const bound = process.env.ORBITREPO_HOST;
const host = !bound || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound.includes(':') ? `[${bound}]` : bound;
// The certificate names the public host, not this address: skip verification for this local probe only.
const res = await fetch(`${scheme}://${host}:${port}/health`, {
  tls: { rejectUnauthorized: false },
  signal: AbortSignal.timeout(4000),
}).catch(() => null);
process.exit(res?.ok ? 0 : 1);
