/**
 * `orbitrepos-go publish [DIR]`: builds the module zip of DIR exactly as the
 * go command would (golang.org/x/mod/zip.CreateFromDir), checks it with the
 * server's own zip check, and PUTs it to a hosted repository. A refusal is
 * printed as the server (or the rules) gave it, and the exit status is 1.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GoProtocolError } from '../goproxy/errors';
import { parseModuleDirective } from '../goproxy/gomod';
import { listModuleFiles } from '../goproxy/module-files';
import { checkModuleVersion, checkModuleZip, type RandomAccessReader } from '../goproxy/zip-check';
import { moduleZipPrefix, writeModuleZip } from '../goproxy/zip-create';
import { findCredential } from './credentials';
import { versionFromGitTag, worktreeChanges } from './git-version';
import { fsModuleDir, pacedGc } from './module-dir';
import { progressReporter, uploadZip, zipUploadUrl } from './upload';

export interface Io {
  env: Record<string, string | undefined>;
  cwd: string;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

export const PUBLISH_USAGE = `usage: orbitrepos-go publish [DIR] --repository NAME [--version vX.Y.Z] [--server URL]
       orbitrepos-go publish [DIR] --dry-run [--version vX.Y.Z]
       orbitrepos-go publish [DIR] --output FILE.zip [--version vX.Y.Z]

Builds the module zip of DIR (default: the current directory) as the go command does and
publishes it to a hosted repository.

  --repository, -r NAME  hosted repository to publish to
  --version, -v VERSION  version to publish; default: the git tag on HEAD (sub/v1.2.0 for a module in sub/)
  --server, -s URL       server address; default: $ORBITREPO_SERVER, else http://localhost:8080
  --dry-run, -n          print the files of the zip and its h1: hash; build and send nothing
  --output, -o FILE      also write the zip to FILE (without --repository: only write it)

Credentials: ORBITREPO_TOKEN (with ORBITREPO_USER: Basic, else a Bearer token), else the .netrc
entry for the server's host ($NETRC names the file, as for the go command).
`;

class UsageError extends Error {}

interface Options {
  dir: string;
  repository?: string;
  version?: string;
  server: string;
  dryRun: boolean;
  output?: string;
}

function parse(argv: string[], io: Io): Options {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof spec; allowPositionals: true }>>;
  const spec = {
    repository: { type: 'string', short: 'r' },
    version: { type: 'string', short: 'v' },
    server: { type: 'string', short: 's' },
    'dry-run': { type: 'boolean', short: 'n' },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  try {
    parsed = parseArgs({ args: argv, options: spec, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('');
  if (positionals.length > 1) throw new UsageError(`one module directory at most, got ${positionals.length}`);
  const dryRun = values['dry-run'] ?? false;
  if (!dryRun && !values.repository && !values.output)
    throw new UsageError('say where the zip goes: --repository NAME, --output FILE, or --dry-run');
  return {
    dir: resolve(io.cwd, positionals[0] ?? '.'),
    repository: values.repository,
    version: values.version,
    server: values.server ?? io.env.ORBITREPO_SERVER ?? 'http://localhost:8080',
    dryRun,
    output: values.output && resolve(io.cwd, values.output),
  };
}

async function readModulePath(dir: string): Promise<string> {
  const goMod = Bun.file(join(dir, 'go.mod'));
  if (!(await goMod.exists())) {
    throw new Error(`${dir} has no go.mod: the publisher reads the module path from it (create one with: go mod init MODULE_PATH)`);
  }
  const modulePath = parseModuleDirective(await goMod.text());
  if (modulePath === null) throw new Error(`${join(dir, 'go.mod')} has no module line (add: module MODULE_PATH)`);
  return modulePath;
}

function fileReader(handle: Awaited<ReturnType<typeof open>>, size: number): RandomAccessReader {
  return {
    size,
    async read(offset, length) {
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
      pacedGc(bytesRead);
      return buf.subarray(0, bytesRead);
    },
  };
}

/** Builds the zip into `path`; returns its h1 after reading it back through the server's own check. */
async function buildZipFile(modulePath: string, version: string, files: Parameters<typeof writeModuleZip>[2], dir: string, path: string) {
  const src = fsModuleDir(dir);
  const out = await open(path, 'w');
  let built: Awaited<ReturnType<typeof writeModuleZip>>;
  try {
    built = await writeModuleZip(modulePath, version, files, src.open, async (chunk) => {
      await out.write(chunk);
    });
  } finally {
    await out.close();
  }
  // The zip is read back as the server will read it, so what leaves here is what the server accepts.
  const back = await open(path, 'r');
  try {
    const checked = await checkModuleZip(fileReader(back, built.zipSize), modulePath, version);
    if (checked.h1 !== built.h1) throw new Error(`internal error: the zip reads back as ${checked.h1}, written as ${built.h1}`);
    return built;
  } finally {
    await back.close();
  }
}

async function publish(o: Options, io: Io): Promise<number> {
  const say = (s: string) => io.stderr.write(`${s}\n`);
  const modulePath = await readModulePath(o.dir);
  let version = o.version;
  if (!version) {
    const found = versionFromGitTag(o.dir, modulePath);
    version = found.version;
    say(`version ${version} from git tag ${found.tag}`);
    const changed = worktreeChanges(o.dir);
    if (changed.length > 0) {
      say(
        `warning: ${changed.length} file${changed.length === 1 ? '' : 's'} differ${changed.length === 1 ? 's' : ''} from the tagged commit (first: ${changed[0]}); the zip is built from the directory as it is, so its h1: will not match go mod download of ${found.tag} from the repository`,
      );
    }
  }
  checkModuleVersion(modulePath, version);
  const listed = await listModuleFiles(fsModuleDir(o.dir));
  if (listed.invalid.length > 0) {
    say(`${o.dir} cannot be published as ${modulePath}@${version}: the go command would refuse these files:`);
    for (const f of listed.invalid) say(`  ${f.path}: ${f.reason} [${f.rule}]`);
    return 1;
  }
  const prefix = moduleZipPrefix(modulePath, version);
  if (o.dryRun) {
    for (const f of listed.omitted) say(`left out ${f.path}: ${f.reason} [${f.rule}]`);
    const hashed = await writeModuleZip(modulePath, version, listed.files, fsModuleDir(o.dir).open, null);
    for (const f of listed.files) io.stdout.write(`${prefix}${f.path}\n`);
    io.stdout.write(`${hashed.h1}\n`);
    return 0;
  }
  const tmp = o.output ? null : await mkdtemp(join(tmpdir(), 'orbitrepos-publish-'));
  const zipPath = o.output ?? join(tmp!, 'module.zip');
  try {
    const built = await buildZipFile(modulePath, version, listed.files, o.dir, zipPath);
    say(`built ${modulePath}@${version}: ${built.files} files, ${built.zipSize} bytes, ${built.h1}`);
    if (o.output) say(`wrote ${o.output}`);
    if (!o.repository) return 0;
    const url = zipUploadUrl(o.server, o.repository, modulePath, version);
    const credential = findCredential(new URL(url), io.env);
    say(`PUT ${url}${credential ? ` (credentials from ${credential.source})` : ' (no credentials found)'}`);
    const res = await uploadZip(url, zipPath, credential, progressReporter(built.zipSize, io.stderr));
    if (res.status >= 200 && res.status < 300) {
      io.stdout.write(`published ${modulePath}@${version} ${built.h1}\n`);
      return 0;
    }
    say(`the server refused ${modulePath}@${version} (${res.status}): ${res.body}`);
    if (res.status === 401 && !credential) {
      say(`set ORBITREPO_TOKEN (and ORBITREPO_USER), or add "machine ${new URL(url).host} login USER password TOKEN" to ~/.netrc`);
    }
    return 1;
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/** Runs the command; returns the exit status (0 published, 1 refused or failed, 2 bad usage). */
export async function runPublish(argv: string[], io: Io): Promise<number> {
  let o: Options;
  try {
    o = parse(argv, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message) io.stderr.write(`orbitrepos-go publish: ${err.message}\n\n`);
    io.stderr.write(PUBLISH_USAGE);
    return err.message ? 2 : 0;
  }
  try {
    return await publish(o, io);
  } catch (err) {
    const rule = err instanceof GoProtocolError ? ` [${err.rule}]` : '';
    io.stderr.write(`orbitrepos-go publish: ${(err as Error).message}${rule}\n`);
    return 1;
  }
}
