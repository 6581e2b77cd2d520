/**
 * A loopback GOPROXY of the tests' own. It speaks raw HTTP/1.1 over node:net (one request per
 * connection) so that it can misbehave precisely: hang before the headers, drop the connection
 * mid-body, announce more bytes than it sends, serve a corrupt zip. It counts every request by path.
 */

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { buildModuleZip } from './zipbuild';

/** What one path answers instead of its file. */
export type StubFault =
  /** Any status with a short text body (404, 410, 500, 401, …). */
  | { kind: 'status'; status: number; body?: string }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Announces the full length, sends the first `afterBytes`, then resets the connection. */
  | { kind: 'drop'; afterBytes: number }
  /** Announces the full length, sends the first `afterBytes`, then closes cleanly. */
  | { kind: 'short'; afterBytes: number }
  /** Announces `cutBytes` fewer than it has, then sends the whole file anyway (a Content-Length that lies the other way). */
  | { kind: 'long'; cutBytes: number }
  /** Serves the file with bytes near its end overwritten (zip central directory damaged). */
  | { kind: 'corrupt' }
  /** Sends the file in `chunkBytes` pieces, `delayMs` apart. */
  | { kind: 'slow'; chunkBytes: number; delayMs: number }
  /** Answers 302 to another path of the stub (or an absolute URL). */
  | { kind: 'redirect'; to: string };

/** A fault that applies to the next `times` requests only (then the file is served), or to all. */
interface FaultRule {
  fault: StubFault;
  times?: number;
}

type Body = { bytes: Uint8Array } | { file: string; size: number };

interface StubEntry {
  body: Body;
  contentType: string;
}

export interface StubModuleVersion {
  /** Files of the zip, relative to the module root. A go.mod is added when absent. */
  files?: Record<string, string | Uint8Array>;
  /** RFC 3339; default a fixed time. */
  time?: string;
  /** Overrides the .mod served (default: the zip's go.mod). */
  mod?: string;
  /** Overrides the .info served. */
  info?: string;
  /** Serve this zip instead of building one (e.g. a big file on disk). */
  zipFile?: { path: string; size: number };
  /** The zip's h1: for the checksum database record (needed with zipFile; else computed from `files`). */
  h1?: string;
}

/** What the stub's checksum database records for one version; by default computed from the files added. */
export interface StubSumdbRecord {
  h1?: string;
  goModH1?: string;
}

export interface StubRequest {
  method: string;
  path: string;
  authorization: string | null;
}

const enc = new TextEncoder();
/** The stub's own `!`-escaping, independent of src/goproxy so a bug there cannot hide in both. */
const esc = (s: string) => s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);

export class StubUpstream {
  readonly requests: StubRequest[] = [];
  private readonly entries = new Map<string, StubEntry>();
  private readonly faults = new Map<string, FaultRule>();
  private readonly modules = new Map<string, Map<string, { time: string }>>();
  private readonly sockets = new Set<Socket>();
  /** Answers list/@latest from added modules unless a path was set explicitly. */
  private readonly generated = new Set<string>();
  /** The checksum database the stub relays at /sumdb/{any name}/, keyed "module@version". */
  private readonly records = new Map<string, StubSumdbRecord>();
  /** Checksum databases this upstream does not relay: /sumdb/{name}/… is a 404 for them. */
  private readonly unrelayed = new Set<string>();

  constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:PORT` plus the base path: what a proxy repository takes as remoteUrl. */
    readonly url: string,
    private readonly basePath: string,
    private readonly auth?: { username: string; password: string },
  ) {}

  /** Adds a module version (zip, mod, info) and refreshes the module's list and @latest. Returns the zip bytes. */
  addModule(module: string, version: string, v: StubModuleVersion = {}): Uint8Array {
    const files = { ...(v.files ?? { 'x.go': `package x\n\nconst V = "${version}"\n` }) };
    if (!('go.mod' in files)) files['go.mod'] = `module ${module}\n\ngo 1.21\n`;
    const time = v.time ?? '2024-01-02T03:04:05Z';
    const prefix = `${esc(module)}/@v/${esc(version)}`;
    let zip: Uint8Array = new Uint8Array(0);
    if (v.zipFile) this.setFile(`${prefix}.zip`, { file: v.zipFile.path, size: v.zipFile.size }, 'application/zip');
    else this.setFile(`${prefix}.zip`, (zip = buildModuleZip(module, version, files)), 'application/zip');
    const goMod = v.mod ?? (typeof files['go.mod'] === 'string' ? files['go.mod'] : new TextDecoder().decode(files['go.mod']));
    this.setFile(`${prefix}.mod`, goMod, 'text/plain; charset=utf-8');
    this.setFile(`${prefix}.info`, v.info ?? JSON.stringify({ Version: version, Time: time }), 'application/json');
    const named = Object.entries(files).map(([name, body]) => ({ name: `${module}@${version}/${name}`, body }));
    this.records.set(`${module}@${version}`, {
      h1: v.h1 ?? (v.zipFile ? undefined : dirHash(named)),
      goModH1: dirHash([{ name: 'go.mod', body: goMod }]),
    });
    if (!this.modules.has(module)) this.modules.set(module, new Map());
    this.modules.get(module)!.set(version, { time });
    this.regenerate(module);
    return zip;
  }

  /** Serves `body` at `path` (relative to the base path, escaped as the protocol escapes it). */
  setFile(path: string, body: Uint8Array | string | { file: string; size: number }, contentType = 'application/octet-stream'): void {
    const b: Body = typeof body === 'string' ? { bytes: enc.encode(body) } : body instanceof Uint8Array ? { bytes: body } : body;
    this.entries.set(path, { body: b, contentType });
    this.generated.delete(path);
  }

  /** Makes the checksum database record other hashes for a version (undefined: no record, a 404 lookup). */
  setSumdbRecord(module: string, version: string, record: StubSumdbRecord | undefined): void {
    if (record) this.records.set(`${module}@${version}`, record);
    else this.records.delete(`${module}@${version}`);
  }

  /** Makes /sumdb/{name}/… a 404, as from an upstream that does not relay that database. */
  refuseSumdb(name: string): void {
    this.unrelayed.add(name);
  }

  /** The checksum database record as served, for comparing with what a proxy stored. */
  sumdbRecord(module: string, version: string): StubSumdbRecord | undefined {
    return this.records.get(`${module}@${version}`);
  }

  removeFile(path: string): void {
    this.entries.delete(path);
  }

  /** Makes `path` misbehave; `times` limits it to the next n requests. */
  fault(path: string, fault: StubFault, times?: number): void {
    this.faults.set(path, { fault, times });
  }

  clearFault(path?: string): void {
    if (path === undefined) this.faults.clear();
    else this.faults.delete(path);
  }

  /** Requests seen for one path (relative to the base path). */
  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  get total(): number {
    return this.requests.length;
  }

  /** Protocol paths for a module, for count() and fault(). */
  paths(module: string, version = '') {
    const m = esc(module);
    const v = esc(version);
    return { list: `${m}/@v/list`, latest: `${m}/@latest`, info: `${m}/@v/${v}.info`, mod: `${m}/@v/${v}.mod`, zip: `${m}/@v/${v}.zip` };
  }

  /** The checksum database lookup path of a version, under database name `name`. */
  lookupPath(name: string, module: string, version: string): string {
    return `sumdb/${name}/lookup/${esc(module)}@${esc(version)}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private regenerate(module: string): void {
    const versions = [...this.modules.get(module)!.entries()];
    const p = this.paths(module);
    const release = versions.filter(([v]) => !/-\d{14}-[0-9a-f]{12}$/.test(v)).map(([v]) => v);
    if (this.generated.has(p.list) || !this.entries.has(p.list)) {
      this.setFile(p.list, release.map((v) => `${v}\n`).join(''), 'text/plain; charset=utf-8');
      this.generated.add(p.list);
    }
    if (this.generated.has(p.latest) || !this.entries.has(p.latest)) {
      const sorted = [...versions].sort(([a], [b]) => Bun.semver.order(a.slice(1), b.slice(1)));
      const [v, { time }] = sorted[sorted.length - 1];
      this.setFile(p.latest, JSON.stringify({ Version: v, Time: time }), 'application/json');
      this.generated.add(p.latest);
    }
  }

  /** Handles one connection: one request, one answer, close. */
  async handle(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    // Not `for await`: leaving that loop early would destroy the socket we still answer on.
    const head = await new Promise<string>((resolve) => {
      let buf = '';
      const onData = (c: Buffer) => {
        buf += c.toString('latin1');
        if (!buf.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        resolve(buf);
      };
      socket.on('data', onData);
      socket.on('end', () => resolve(buf));
    });
    const [requestLine, ...headerLines] = head.split('\r\n\r\n')[0].split('\r\n');
    const [method, target] = requestLine.split(' ');
    const header = (name: string) =>
      headerLines
        .find((l) => l.toLowerCase().startsWith(`${name}:`))
        ?.slice(name.length + 1)
        .trim() ?? null;
    const rawPath = new URL(target ?? '/', 'http://stub').pathname;
    const path = rawPath.startsWith(`${this.basePath}/`) ? rawPath.slice(this.basePath.length + 1) : rawPath.slice(1);
    this.requests.push({ method: method ?? '', path, authorization: header('authorization') });

    if (this.auth) {
      const want = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}`;
      if (header('authorization') !== want) return this.text(socket, 401, 'unauthorized');
    }
    const rule = this.faults.get(path);
    if (rule && rule.times !== undefined && --rule.times <= 0) this.faults.delete(path);
    const fault = rule?.fault;
    if (fault?.kind === 'hang') return; // the socket stays open until close()
    if (fault?.kind === 'status') return this.text(socket, fault.status, fault.body ?? `stub says ${fault.status}`);
    if (fault?.kind === 'redirect') {
      const location = /^https?:/.test(fault.to) ? fault.to : `${this.basePath}/${fault.to}`;
      return this.write(socket, `HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, true);
    }
    const entry = this.entries.get(path) ?? this.sumdbEntry(path);
    if (!entry) return this.text(socket, 404, `not found: ${path}`);
    await this.serve(socket, entry, fault);
  }

  /** /sumdb/{name}/supported and /sumdb/{name}/lookup/{module}@{version}: the record lines and a (fake) signed note. */
  private sumdbEntry(path: string): StubEntry | undefined {
    const m = /^sumdb\/([^/]+)\/(supported|lookup\/(.+)@([^@]+))$/.exec(path);
    if (!m || this.unrelayed.has(m[1])) return undefined;
    if (m[2] === 'supported') return { body: { bytes: new Uint8Array(0) }, contentType: 'text/plain' };
    const unesc = (s: string) => s.replace(/!([a-z])/g, (_, c: string) => c.toUpperCase());
    const [module, version] = [unesc(m[3]), unesc(m[4])];
    const r = this.records.get(`${module}@${version}`);
    if (!r) return undefined;
    const lines = [...(r.h1 ? [`${module} ${version} ${r.h1}`] : []), ...(r.goModH1 ? [`${module} ${version}/go.mod ${r.goModH1}`] : [])];
    const text = `42\n${lines.join('\n')}\n\ngo.sum database tree\n43\nstubtreehash=\n\n— stub.sumdb sig\n`;
    return { body: { bytes: enc.encode(text) }, contentType: 'text/plain; charset=utf-8' };
  }

  private async serve(socket: Socket, entry: StubEntry, fault: StubFault | undefined): Promise<void> {
    const size = 'bytes' in entry.body ? entry.body.bytes.byteLength : entry.body.size;
    const announced = fault?.kind === 'long' ? Math.max(0, size - fault.cutBytes) : size;
    await this.write(
      socket,
      `HTTP/1.1 200 OK\r\nContent-Type: ${entry.contentType}\r\nContent-Length: ${announced}\r\nConnection: close\r\n\r\n`,
    );
    const limit = fault?.kind === 'drop' || fault?.kind === 'short' ? Math.min(fault.afterBytes, size) : size;
    const chunkBytes = fault?.kind === 'slow' ? fault.chunkBytes : 256 * 1024;
    let sent = 0;
    for await (let chunk of chunks(entry.body, chunkBytes)) {
      if (sent + chunk.byteLength > limit) chunk = chunk.subarray(0, limit - sent);
      if (fault?.kind === 'corrupt' && sent + chunk.byteLength > size - 64) {
        chunk = Uint8Array.from(chunk);
        for (let i = Math.max(0, size - 64 - sent); i < chunk.byteLength; i++) chunk[i] ^= 0xff;
      }
      if (chunk.byteLength > 0) await this.write(socket, chunk);
      sent += chunk.byteLength;
      if (socket.destroyed) return;
      if (sent >= limit) break;
      if (fault?.kind === 'slow') await Bun.sleep(fault.delayMs);
    }
    if (fault?.kind === 'drop') socket.resetAndDestroy();
    else socket.end();
  }

  private text(socket: Socket, status: number, body: string): Promise<void> {
    const bytes = enc.encode(`${body}\n`);
    return this.write(
      socket,
      `HTTP/1.1 ${status} Stub\r\nContent-Type: text/plain\r\nContent-Length: ${bytes.byteLength}\r\nConnection: close\r\n\r\n${body}\n`,
      true,
    );
  }

  private async write(socket: Socket, data: string | Uint8Array, end = false): Promise<void> {
    if (socket.destroyed) return;
    const ok = socket.write(data);
    if (end) socket.end();
    else if (!ok) {
      // Not once() twice in a race: the loser's listener would stay, one more per chunk.
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
}

/** The go command's dirhash Hash1, written here apart from src/goproxy so a bug there cannot hide in both. */
function dirHash(files: { name: string; body: string | Uint8Array }[]): string {
  const lines = files
    .map((f) => `${createHash('sha256').update(f.body).digest('hex')}  ${f.name}\n`)
    .sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : 1));
  return `h1:${createHash('sha256').update(lines.join('')).digest('base64')}`;
}

async function* chunks(body: Body, size: number): AsyncIterable<Uint8Array> {
  if ('bytes' in body) {
    for (let at = 0; at < body.bytes.byteLength; at += size) yield body.bytes.subarray(at, at + size);
    return;
  }
  const fh = await open(body.file, 'r');
  try {
    for (let at = 0; at < body.size; at += size) {
      const buf = new Uint8Array(Math.min(size, body.size - at));
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, at);
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

export interface StubUpstreamOptions {
  /** Path the GOPROXY lives under, e.g. "/mirror" (tests remoteUrl with a path); empty: the root. */
  basePath?: string;
  /** Require these Basic credentials (401 otherwise). */
  auth?: { username: string; password: string };
}

/** Starts a stub on 127.0.0.1, an ephemeral port. */
export async function startStubUpstream(opts: StubUpstreamOptions = {}): Promise<StubUpstream> {
  const basePath = (opts.basePath ?? '').replace(/\/+$/, '');
  let stub: StubUpstream | undefined;
  const server = createServer((socket) => {
    stub!.handle(socket).catch(() => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  stub = new StubUpstream(server, `http://127.0.0.1:${port}${basePath}`, basePath, opts.auth);
  return stub;
}
