import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCA {
  /** The CA certificate (PEM): give it to clients, e.g. SSL_CERT_FILE for the go command, `tls.ca` for fetch. */
  caCertFile: string;
  /** Server certificate (PEM) for 127.0.0.1 and localhost, signed by the CA: ORBITREPO_TLS_CERT_FILE. */
  certFile: string;
  /** Its private key (PEM, unencrypted): ORBITREPO_TLS_KEY_FILE. */
  keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(['openssl', ...args], { cwd, stdout: 'pipe', stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString().trim()}`);
}

/**
 * A throwaway private CA and a server certificate it signed, valid two days, written into dir. The same
 * recipe as docs/https.md, with P-256 keys because they are made in milliseconds. The server certificate
 * names IP:127.0.0.1 and DNS:localhost in subjectAltName: the go command (like every modern client)
 * ignores the CN and checks only the SAN.
 */
export function makeTestCA(dir: string): TestCA {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=OrbitRepos Test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  const ext = [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ].join('\n');
  writeFileSync(join(dir, 'server.ext'), `${ext}\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  return { caCertFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') };
}
