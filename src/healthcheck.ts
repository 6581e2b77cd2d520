export {};
// Container HEALTHCHECK: asks this server's /health over loopback, over TLS when the server serves TLS.
const port = process.env.ORBITREPO_PORT || '8080';
const scheme = process.env.ORBITREPO_TLS_CERT_FILE ? 'https' : 'http';
// The certificate names the public host, not 127.0.0.1: skip verification for this loopback probe only.
const res = await fetch(`${scheme}://127.0.0.1:${port}/health`, { tls: { rejectUnauthorized: false }, signal: AbortSignal.timeout(4000) }).catch(() => null);
process.exit(res?.ok ? 0 : 1);
