import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../../src/config';

export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Ready for S3BlobStore / openBlobStore: path-style, this bucket, no prefix. */
  config: S3Config;
  /** Where s3rver keeps objects, as `<bucket>/<key>._S3rver_object`: lets tests look at the bytes actually stored. */
  directory: string;
  /** Another empty bucket on the same server, for tests that want isolation without a new process. */
  newBucket(): Promise<S3Config>;
  /** Stops the server and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * s3rver runs in a child Bun process rather than in the test process because it needs four
 * shims that should not leak into the code under test:
 * - continuation tokens use the cipher name "des", which Bun (BoringSSL) only knows as "des-cbc"
 *   (Node 17+ refuses it too without --openssl-legacy-provider);
 * - listing pages by "every key after the last one returned" while walking directories in
 *   readdir order, which is sorted under Node but not under Bun, so pages silently skip keys;
 * - AbortMultipartUpload is not implemented (405), so the abort a failed upload sends would fail,
 *   and ListMultipartUploads neither (NotImplemented), so the sweep of abandoned uploads could not be
 *   tested: both are answered here from s3rver's own upload directories (Initiated is the directory's mtime);
 * - objects and parts are written in place and the reply goes out before the file is written,
 *   so a read right after a PUT, or two PUTs of one key, can see a short or empty object.
 * A separate process also keeps the server's memory out of the tests' RSS measurements.
 */
const CHILD_SCRIPT = String.raw`
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Readable, Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const [s3rverPath, directory, bucket] = JSON.parse(process.argv[process.argv.length - 1]);

for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = crypto[name];
  crypto[name] = (algorithm, ...rest) => original(algorithm === 'des' ? 'des-cbc' : algorithm, ...rest);
}
const readdirSync = fs.readdirSync;
fs.readdirSync = function (...args) {
  const entries = readdirSync.apply(this, args);
  const name = (e) => (typeof e === 'string' ? e : e.name);
  return entries.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
};

const S3rver = require(s3rverPath);
const FilesystemStore = require(path.join(path.dirname(s3rverPath), 'stores', 'filesystem.js'));
// Writes a body to a temporary file, then renames it into place, resolving once the bytes are in
// the file: a reader never sees a half-written object and a reply never precedes the data.
async function writeWhole(content, filePath) {
  await fs.promises.mkdir(path.dirname(filePath), { recursive: true });
  const tmp = filePath + '.' + crypto.randomUUID() + '.partial';
  const md5 = crypto.createHash('md5');
  let size = 0;
  const counter = new Transform({
    transform(chunk, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
  try {
    await pipeline(source, counter, fs.createWriteStream(tmp));
    await fs.promises.rename(tmp, filePath);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return { size, md5: md5.digest('hex') };
}
FilesystemStore.prototype.putObject = async function (object) {
  const result = await writeWhole(object.content, this.getResourcePath(object.bucket, object.key, 'object'));
  await this.putMetadata(object.bucket, object.key, object.metadata, result.md5);
  return result;
};
FilesystemStore.prototype.putPart = async function (bucket, uploadId, partNumber, content) {
  const partPath = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
  const result = await writeWhole(content, partPath);
  await fs.promises.writeFile(partPath + '.md5', result.md5);
  return result;
};
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] });
const handler = server.callback.bind(server);
server.callback = () => {
  const koa = handler();
  return (req, res) => {
    const url = new URL(req.url, 'http://s3rver');
    const uploadId = url.searchParams.get('uploadId');
    if (req.method === 'DELETE' && uploadId !== null) {
      const bucketName = decodeURIComponent(url.pathname.split('/')[1] || '');
      if (/^[0-9a-f]+$/.test(uploadId) && /^[a-z0-9.-]+$/.test(bucketName)) {
        fs.rmSync(path.join(directory, bucketName, '._S3rver_uploads', uploadId), { recursive: true, force: true });
      }
      res.statusCode = 204;
      res.end();
      return;
    }
    if (req.method === 'GET' && url.searchParams.has('uploads')) {
      const bucketName = decodeURIComponent(url.pathname.split('/')[1] || '');
      const prefix = url.searchParams.get('prefix') || '';
      const root = path.join(directory, bucketName, '._S3rver_uploads');
      const xml = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      let uploads = '';
      for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) {
        const keyFile = path.join(root, id, 'key');
        if (!fs.existsSync(keyFile)) continue;
        const key = fs.readFileSync(keyFile, 'utf8');
        if (!key.startsWith(prefix)) continue;
        const initiated = fs.statSync(path.join(root, id)).mtime.toISOString();
        uploads += '<Upload><Key>' + xml(key) + '</Key><UploadId>' + id + '</UploadId><Initiated>' + initiated + '</Initiated></Upload>';
      }
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/xml');
      res.end('<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>' +
        xml(bucketName) + '</Bucket><Prefix>' + xml(prefix) + '</Prefix><IsTruncated>false</IsTruncated>' + uploads + '</ListMultipartUploadsResult>');
      return;
    }
    koa(req, res);
  };
};

server.run().then((address) => {
  process.stdout.write(JSON.stringify({ port: address.port }) + '\n');
}, (err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});

// The parent closes stdin to stop us, and so does its death: never outlive the test run.
process.stdin.on('end', () => {
  fs.rmSync(directory, { recursive: true, force: true });
  process.exit(0);
});
process.stdin.resume();
`;

const ACCESS_KEY = 'S3RVER';
const START_TIMEOUT_MS = 15_000;

export async function startS3rver(): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 'orbitrepos-s3rver-'));
  const bucket = `test-${crypto.randomUUID().slice(0, 8)}`;
  const s3rverPath = Bun.resolveSync('s3rver', import.meta.dir);
  const child = Bun.spawn([process.execPath, '-e', CHILD_SCRIPT, JSON.stringify([s3rverPath, directory, bucket])], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let stderrTail = '';
  const decoder = new TextDecoder();
  void child.stderr
    .pipeTo(
      new WritableStream({ write: (chunk) => void (stderrTail = (stderrTail + decoder.decode(chunk, { stream: true })).slice(-4000)) }),
    )
    .catch(() => {});

  let port: number;
  try {
    port = await readPort(child.stdout, child.exited, () => stderrTail);
  } catch (err) {
    child.kill();
    await child.exited;
    await rm(directory, { recursive: true, force: true });
    throw err;
  }

  const endpoint = `http://127.0.0.1:${port}`;
  const configFor = (name: string): S3Config => ({
    bucket: name,
    endpoint,
    region: 'us-east-1',
    accessKeyId: ACCESS_KEY,
    secretAccessKey: ACCESS_KEY,
    forcePathStyle: true,
    prefix: '',
  });

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    bucket,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: ACCESS_KEY,
    config: configFor(bucket),
    directory,
    async newBucket() {
      const name = `test-${crypto.randomUUID().slice(0, 8)}`;
      const client = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: ACCESS_KEY },
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
      return configFor(name);
    },
    stop() {
      stopped ??= (async () => {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await child.exited;
        clearTimeout(timer);
        await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** The child prints one JSON line with its port once it listens. */
async function readPort(stdout: ReadableStream<Uint8Array>, exited: Promise<number>, stderr: () => string): Promise<number> {
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failure = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms: ${stderr()}`)), START_TIMEOUT_MS);
    exited.then((code) => reject(new Error(`s3rver exited with code ${code} before listening: ${stderr()}`)));
  });
  // Once the port is read this promise still rejects when the child exits; nobody is waiting then.
  failure.catch(() => {});
  try {
    while (!text.includes('\n')) {
      const { done, value } = await Promise.race([reader.read(), failure]);
      if (done) throw new Error(`s3rver closed its output before listening: ${stderr()}`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  // Keep draining so that a chatty child never blocks on a full pipe.
  void stdout.pipeTo(new WritableStream()).catch(() => {});
  return (JSON.parse(text.slice(0, text.indexOf('\n'))) as { port: number }).port;
}
