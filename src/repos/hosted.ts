import type { Database } from '../db/open';
import type { ModuleVersionRow, RepositoryRow } from '../db/schema';
import { AppError, BadRequest, Conflict, Forbidden, Gone, NotFound, PayloadTooLarge } from '../errors';
import { goModHash } from '../goproxy/dirhash';
import { InvalidZipError } from '../goproxy/errors';
import { checkGoModModule, goModForZip, replaceOnlyNote } from '../goproxy/gomod';
import { formatInfo, InvalidInfoError, parseInfo } from '../goproxy/info';
import { checkIncompatible, checkUploadVersion } from '../goproxy/publish-rules';
import { isPseudoVersion, listVersions, pseudoVersionTime, selectLatest } from '../goproxy/version';
import { checkModuleZip } from '../goproxy/zip-check';
import { commitBlob, discardStaged, type StagedBlob, stageBlob } from '../storage/content-addressed';
import { withBlobWriteFence } from './blob-fence';
import { BLOB_WINDOW_BYTES, blobReader } from './blob-reader';
import type { RepoDeps } from './deps';
import { blobGoFileAt } from './go-file';
import { acceptsUpload, uploadOutsideNamespaces } from './path-routing';
import { pacedBody, pacedReader } from './periodic-full-gc';
import { readLimited } from './read-limited';
import type {
  Actor,
  DeleteOptions,
  GoFile,
  GoRepository,
  ModulePublisher,
  ModuleReader,
  UploadKind,
  UploadResult,
  VersionRemover,
} from './repository';
import { checkAgainstTombstone, clearTombstone, findTombstone, rememberDeleted } from './tombstones';
import {
  deleteVersionAudited,
  findVersionRow,
  insertVersionRow,
  listVersionTimes,
  type NewVersionRow,
  upsertVersionRow,
} from './version-rows';

/** Largest module zip accepted, as the go command's own limit (golang.org/x/mod/zip MaxZipFile). */
export const MAX_ZIP_UPLOAD_BYTES = 500 * 1024 * 1024;
/** .mod and .info PUT bodies are only compared, never stored; the go command's go.mod limit bounds them. */
const MAX_SIDE_FILE_BYTES = 16 * 1024 * 1024;
const sideFileTooLarge = () => new PayloadTooLarge(`body is larger than the limit of ${MAX_SIDE_FILE_BYTES} bytes`);

const q = (s: string) => JSON.stringify(s);

/**
 * A repository whose modules are published here with PUT. A version becomes visible (list, info,
 * mod, zip) only when its row is inserted, and the row is inserted only after both blobs are
 * stored, so a failed or interrupted upload leaves nothing a client can see or that blocks a retry.
 */
export class HostedRepository implements GoRepository, ModuleReader, ModulePublisher, VersionRemover {
  readonly reader: ModuleReader = this;
  readonly publisher: ModulePublisher = this;
  readonly remover: VersionRemover = this;

  constructor(
    readonly row: RepositoryRow,
    private readonly deps: RepoDeps,
  ) {}

  async list(module: string): Promise<string[]> {
    const versions = await listVersionTimes(this.deps.db, this.row.id, module);
    if (versions.length === 0) throw this.unknownModule(module);
    return listVersions(versions.map((v) => v.version));
  }

  async latest(module: string): Promise<string> {
    const rows = await listVersionTimes(this.deps.db, this.row.id, module);
    const latest = selectLatest(rows.map((r) => ({ version: r.version, time: versionTime(r.version, r.time) })));
    if (!latest) throw this.unknownModule(module);
    return formatInfo(latest.version, latest.time);
  }

  async info(module: string, version: string): Promise<string> {
    const row = await this.versionRow(module, version);
    return formatInfo(row.version, versionTime(row.version, row.time));
  }

  async mod(module: string, version: string): Promise<GoFile> {
    const row = await this.versionRow(module, version);
    if (!row.modKey) throw new NotFound(`${module}@${version} has no go.mod in repository ${q(this.row.name)}`);
    return blobGoFileAt(this.deps.storage, row.modKey);
  }

  async zip(module: string, version: string): Promise<GoFile> {
    const row = await this.versionRow(module, version);
    if (!row.zipKey || row.zipSize === null || !row.zipSha256) {
      throw new NotFound(`${module}@${version} has no zip in repository ${q(this.row.name)}`);
    }
    return blobGoFileAt(this.deps.storage, row.zipKey, { size: row.zipSize, sha256: row.zipSha256 });
  }

  async upload(module: string, version: string, kind: UploadKind, body: ReadableStream<Uint8Array>, actor: Actor): Promise<UploadResult> {
    if (this.row.writePolicy === 'deny') {
      throw new Forbidden(`repository ${q(this.row.name)} is read-only (write policy "deny")`);
    }
    // Before the body is read: a path this repository does not own must not be published here.
    if (!acceptsUpload(this.row, module)) throw new Forbidden(uploadOutsideNamespaces(this.row, module));
    checkUploadVersion(module, version);
    switch (kind) {
      case 'zip':
        return this.publishZip(module, version, body, actor);
      case 'mod':
        return this.verifyMod(module, version, body);
      case 'info':
        return this.verifyInfo(module, version, body);
    }
  }

  async deleteVersion(module: string, version: string, actor: Actor, opts: DeleteOptions = {}): Promise<void> {
    if (this.row.writePolicy === 'deny') {
      throw new Forbidden(`repository ${q(this.row.name)} is read-only (write policy "deny"): versions cannot be deleted`);
    }
    // Blobs stay (the blob collector takes them once nothing refers to them). Under allow_once the hashes
    // stay too, in a tombstone: go.sum files pin them, so only the same bytes may take the version again.
    const row = await deleteVersionAudited(
      this.deps,
      this.row,
      module,
      version,
      actor,
      async (tx, gone) => {
        if (this.row.writePolicy === 'allow_once') await rememberDeleted(tx, gone, actor.username);
      },
      opts,
    );
    if (!row) throw this.unknownVersion(module, version);
  }

  /**
   * stage -> check (range reads on the staged blob) -> commit zip -> store .mod -> insert row.
   * Until the insert nothing refers to the blobs; the staged copy is removed on any failure.
   */
  private async publishZip(module: string, version: string, body: ReadableStream<Uint8Array>, actor: Actor): Promise<UploadResult> {
    const { storage, db } = this.deps;
    const replace = this.row.writePolicy === 'allow';
    // Saves reading up to 500 MiB only to refuse it; the insert below still decides any race.
    if (!replace && (await findVersionRow(db, this.row.id, module, version))) throw this.alreadyPublished(module, version);

    const staged = await this.stage(body);
    let checked: Awaited<ReturnType<typeof checkModuleZip>>;
    try {
      const reader = pacedReader(blobReader(storage, staged.tmpKey, staged.size), this.deps.fullGcEveryBytes);
      checked = await checkModuleZip(reader, module, version, { windowBytes: BLOB_WINDOW_BYTES }).catch((err) => {
        throw explainZipError(err, module, version);
      });
      if (checked.goMod) checkGoModModule(module, new TextDecoder().decode(checked.goMod));
      checkIncompatible(module, version, checked.goMod !== null);
    } catch (err) {
      await discardStaged(storage, staged).catch(() => {});
      throw err;
    }
    const goMod = goModForZip(module, checked.goMod);
    const goModH1 = goModHash(module, version, goMod);
    let modStaged: StagedBlob;
    let restores = false;
    try {
      if (!replace) restores = await checkAgainstTombstone(db, this.row, module, version, { h1: checked.h1, goModH1 });
      modStaged = await stageBlob(storage, goMod);
    } catch (err) {
      await discardStaged(storage, staged).catch(() => {});
      throw err;
    }
    // From the blobs' commit to the row's, the blob collector is held off (see blob-fence.ts); staging,
    // the slow part, is done before, so the fence is held for two renames and an insert.
    await withBlobWriteFence(db, async (tx) => {
      let zipKey: string;
      let modKey: string;
      try {
        zipKey = await commitBlob(storage, staged);
        modKey = await commitBlob(storage, modStaged);
      } catch (err) {
        await Promise.all([discardStaged(storage, staged).catch(() => {}), discardStaged(storage, modStaged).catch(() => {})]);
        throw err;
      }
      const values: NewVersionRow = {
        repositoryId: this.row.id,
        modulePath: module,
        version,
        time: new Date(Math.floor(Date.now() / 1000) * 1000),
        zipSize: staged.size,
        zipSha256: staged.sha256,
        h1: checked.h1,
        goModH1,
        zipKey,
        modKey,
        infoKey: null,
        origin: 'uploaded',
        createdBy: actor.username,
      };
      if (replace) await upsertVersionRow(tx, values);
      else
        await insertVersionRow(tx, values).catch((err) => {
          throw err instanceof Conflict ? this.alreadyPublished(module, version) : err;
        });
      if (restores) await clearTombstone(tx, this.row.id, module, version);
      // In the row's transaction: no version without its audit entry (the blobs left by a rollback are collected).
      await this.deps.audit.recordIn(tx as unknown as Database, {
        actor: actor.username,
        action: 'module.publish',
        repository: this.row.name,
        target: `${module}@${version}`,
        details: { h1: checked.h1, size: staged.size, ...(restores ? { restored: true } : {}) },
        clientAddress: actor.clientAddress,
      });
    });
    const forked = checked.goMod ? replaceOnlyNote(module, version, new TextDecoder().decode(checked.goMod)) : undefined;
    const notes = forked ? [forked, ...checked.notes] : checked.notes;
    return { module, version, created: true, h1: checked.h1, size: staged.size, ...(notes.length ? { notes } : {}) };
  }

  /** Streams the body to a staged blob; a body that breaks off is the client's doing, not a server fault. */
  private async stage(body: ReadableStream<Uint8Array>): Promise<StagedBlob> {
    const watched = pacedBody(body, this.deps.fullGcEveryBytes);
    try {
      return await stageBlob(this.deps.storage, watched.stream, { maxBytes: MAX_ZIP_UPLOAD_BYTES });
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (watched.failed) throw new BadRequest(`the upload broke off after ${watched.bytes} bytes; nothing was stored, send it again`);
      throw err;
    }
  }

  /** A .mod PUT is accepted only when it is exactly the go.mod the zip already gave this version. */
  private async verifyMod(module: string, version: string, body: ReadableStream<Uint8Array>): Promise<UploadResult> {
    const row = await this.publishedBeforeSideFile(module, version, '.mod');
    const bytes = await readLimited(body, MAX_SIDE_FILE_BYTES, sideFileTooLarge);
    if (goModHash(module, version, bytes) !== row.goModH1) {
      throw new BadRequest(`.mod of ${module}@${version} differs from the go.mod in its zip; the zip's go.mod is what is served`);
    }
    return { module, version, created: false };
  }

  /** A .info PUT may only repeat the version; its Time is ignored (.info reports the upload time). */
  private async verifyInfo(module: string, version: string, body: ReadableStream<Uint8Array>): Promise<UploadResult> {
    await this.publishedBeforeSideFile(module, version, '.info');
    const text = new TextDecoder().decode(await readLimited(body, MAX_SIDE_FILE_BYTES, sideFileTooLarge));
    let claimed: string;
    try {
      claimed = parseInfo(text, { versionOptional: true, ignoreTime: true }).version;
    } catch (err) {
      if (err instanceof InvalidInfoError) throw new BadRequest(`.info of ${module}@${version} ${err.message}`);
      throw err;
    }
    if (claimed !== '' && claimed !== version) {
      throw new BadRequest(`.info says Version ${q(claimed)} but the URL says ${version}`);
    }
    return { module, version, created: false };
  }

  private async publishedBeforeSideFile(module: string, version: string, what: string): Promise<ModuleVersionRow> {
    const row = await findVersionRow(this.deps.db, this.row.id, module, version);
    // The zip carries everything (.mod is its go.mod, .info its upload time), so it must come first.
    if (!row) throw new Conflict(`${module}@${version} is not published: upload the .zip first; ${what} is derived from it`);
    return row;
  }

  private async versionRow(module: string, version: string): Promise<ModuleVersionRow> {
    const row = await findVersionRow(this.deps.db, this.row.id, module, version);
    if (!row) throw await this.absentVersion(module, version);
    return row;
  }

  /**
   * A version never published here is NotFound; one deleted under allow_once, whose tombstone remains, is
   * Gone (410), as a proxy passes on an upstream's 410: it was here, and builds that pinned it need another.
   */
  private async absentVersion(module: string, version: string): Promise<NotFound> {
    const tomb = await findTombstone(this.deps.db, this.row.id, module, version);
    if (!tomb) return this.unknownVersion(module, version);
    return new Gone(
      `${module}@${version} was deleted from repository ${q(this.row.name)} on ${tomb.deletedAt.toISOString().slice(0, 10)}; require another version (only the same zip, ${tomb.h1}, can publish ${version} again)`,
    );
  }

  private unknownModule(module: string): NotFound {
    return new NotFound(`module ${module} not found in repository ${q(this.row.name)}`);
  }

  private unknownVersion(module: string, version: string): NotFound {
    return new NotFound(`${module}@${version} not found in repository ${q(this.row.name)}`);
  }

  private alreadyPublished(module: string, version: string): Conflict {
    return new Conflict(
      `${module}@${version} is already published in repository ${q(this.row.name)}; versions are immutable (go.sum pins them), publish a new version`,
    );
  }
}

/**
 * A pseudo-version's time is its commit's, encoded in it (as the go command and public proxies report
 * it), so @latest among pseudo-versions picks the newest commit, not the latest upload.
 */
function versionTime(version: string, uploaded: Date): Date {
  return isPseudoVersion(version) ? pseudoVersionTime(version) : uploaded;
}

/** Says which module@version the zip really holds when its prefix does not match the URL. */
function explainZipError(err: unknown, module: string, version: string): unknown {
  if (!(err instanceof InvalidZipError) || err.rule !== 'path-prefix' || !err.entry) return err;
  const at = /^(.*?@[^/]*)\//.exec(err.entry)?.[1];
  if (!at) return err;
  return new BadRequest(`module zip holds ${at} but the URL says ${module}@${version} (entry ${q(err.entry)})`);
}
