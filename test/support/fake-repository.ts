import type { RepositoryRow, RepositoryType } from '../../src/db/schema';
import { type AppError, NotFound } from '../../src/errors';
import { listVersions, passThroughVersions, selectLatest } from '../../src/goproxy/version';
import { absentUntil, type Expiring, type ExpiringFiles, type ExpiringReader, type FileKind } from '../../src/repos/expiring';
import type { ChecksumRelay, GoFile, GoRepository, ModuleReader, SumdbAnswer, VersionRemover } from '../../src/repos/repository';

/** One version a fake member serves: its time and the bytes of its .mod and .zip. */
export interface FakeVersion {
  time?: string;
  mod?: string;
  zip?: string;
}

/** What a fake member serves: module -> version -> files. */
export type FakeModules = Record<string, Record<string, FakeVersion>>;

export function fakeRow(name: string, type: RepositoryType = 'hosted', id = 0): RepositoryRow {
  const now = new Date();
  return {
    id,
    name,
    format: 'go',
    type,
    remoteUrl: type === 'proxy' ? 'http://127.0.0.1:9' : null,
    anonymousRead: false,
    writePolicy: 'allow_once',
    description: '',
    settings: {},
    namespaces: [],
    includePaths: [],
    excludePaths: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** A fake's "not found" holds no longer than its content: not at all. */
const gone = (err: NotFound) => absentUntil(err, 0);

function textFile(text: string): GoFile {
  const bytes = new TextEncoder().encode(text);
  return {
    size: bytes.byteLength,
    etag: `"fake-${Bun.hash(text).toString(16)}"`,
    open: async () => new Blob([bytes]).stream(),
  };
}

/**
 * An in-memory repository (reading, removing, relaying) for group tests: serves what it is given, or fails every call with `fail`,
 * and counts calls so tests can see which members were asked. `delayMs` makes concurrency observable.
 */
export class FakeRepository implements GoRepository, ModuleReader, ExpiringReader, ExpiringFiles, VersionRemover, ChecksumRelay {
  readonly reader: ModuleReader = this;
  readonly remover: VersionRemover = this;
  readonly checksums: ChecksumRelay = this;
  readonly calls: string[] = [];
  fail?: AppError;
  delayMs = 0;
  /** In-flight calls right now, and the most seen at once. */
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    readonly row: RepositoryRow,
    public modules: FakeModules = {},
    public sumdbBody?: string,
  ) {}

  private async enter(call: string): Promise<void> {
    this.calls.push(call);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs) await Bun.sleep(this.delayMs);
      if (this.fail) throw this.fail;
    } finally {
      this.inFlight--;
    }
  }

  private versions(module: string): Record<string, FakeVersion> {
    const vs = this.modules[module];
    if (!vs) throw gone(new NotFound(`${module}: unknown module in ${this.row.name}`));
    return vs;
  }

  private version(module: string, version: string): FakeVersion {
    const v = this.versions(module)[version];
    if (!v) throw gone(new NotFound(`${module}@${version}: unknown version in ${this.row.name}`));
    return v;
  }

  private infoText(version: string, v: FakeVersion): string {
    // The Origin field shows which member's text came back unchanged.
    return JSON.stringify({ Version: version, Time: v.time ?? '2024-01-01T00:00:00Z', Origin: { Repo: this.row.name } });
  }

  async list(module: string): Promise<string[]> {
    await this.enter(`list ${module}`);
    // As the real ones: a proxy passes its upstream's pseudo-versions on, a hosted repository lists tags only.
    const versions = Object.keys(this.versions(module));
    return this.row.type === 'proxy' ? passThroughVersions(versions) : listVersions(versions);
  }

  async latest(module: string): Promise<string> {
    await this.enter(`latest ${module}`);
    const vs = this.versions(module);
    const best = selectLatest(Object.entries(vs).map(([version, v]) => ({ version, time: v.time })));
    if (!best) throw gone(new NotFound(`${module}: no versions in ${this.row.name}`));
    return this.infoText(best.version, vs[best.version]);
  }

  // What a fake serves changes at the test's will, with no write to invalidate a copy: no answer of it may be kept.
  async listExpiring(module: string): Promise<Expiring<string[]>> {
    return { value: await this.list(module), until: 0 };
  }

  async latestExpiring(module: string): Promise<Expiring<string>> {
    return { value: await this.latest(module), until: 0 };
  }

  async fileExpiring(kind: FileKind, module: string, version: string): Promise<Expiring<unknown>> {
    return { value: await this[kind](module, version), until: 0 };
  }

  async info(module: string, version: string): Promise<string> {
    await this.enter(`info ${module}@${version}`);
    return this.infoText(version, this.version(module, version));
  }

  async mod(module: string, version: string): Promise<GoFile> {
    await this.enter(`mod ${module}@${version}`);
    return textFile(this.version(module, version).mod ?? `module ${module}\n`);
  }

  async zip(module: string, version: string): Promise<GoFile> {
    await this.enter(`zip ${module}@${version}`);
    return textFile(this.version(module, version).zip ?? `zip of ${module}@${version} from ${this.row.name}`);
  }

  async deleteVersion(module: string, version: string): Promise<void> {
    await this.enter(`delete ${module}@${version}`);
  }

  async sumdb(name: string, rest: string): Promise<SumdbAnswer> {
    await this.enter(`sumdb ${name}/${rest}`);
    if (this.sumdbBody === undefined) throw new NotFound('no checksum database here');
    return { body: new TextEncoder().encode(this.sumdbBody), contentType: 'text/plain; charset=utf-8', cacheControl: 'no-cache' };
  }
}
