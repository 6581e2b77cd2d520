import type { RepositoryRow } from '../db/schema';
import { MethodNotAllowed, NotFound } from '../errors';
import type { VersionCache } from './cached-repository';
import type { RepoDeps } from './deps';
import { countingDownloads } from './download-stats';
import { GroupRepository } from './group';
import { HostedRepository } from './hosted';
import { ProxyRepository } from './proxy';
import type { GoRepository } from './repository';

/**
 * Repository rows -> repository instances. Instances are cheap and built from the current row (kept
 * while the row is), so admin changes (members, remote URL, policy) take effect at once in every process;
 * what is expensive to share (the coalescer) is a field of the deps, made once in src/context.ts.
 */
export class RepositoryRegistry {
  /** versions: when given, every repository's reads are answered from memory through it (and its writes invalidate). */
  constructor(
    private readonly deps: Omit<RepoDeps, 'instantiate'>,
    private readonly versions?: VersionCache,
  ) {}

  /**
   * Hosted and proxy instances by the row they were built from: they hold nothing per request, and a cached
   * row is the same object until the repository changes (then a new row, a new instance). A group is built
   * every time: readingAs gives it the caller's permissions.
   */
  private readonly built = new WeakMap<RepositoryRow, GoRepository>();

  instantiate = (row: RepositoryRow): GoRepository => {
    const known = this.built.get(row);
    if (known) return known;
    const built = this.build(row);
    const repo = this.versions ? this.versions.wrap(built) : built;
    if (row.type !== 'group') this.built.set(row, repo);
    return repo;
  };

  private build(row: RepositoryRow): GoRepository {
    const deps: RepoDeps = { ...this.deps, instantiate: this.instantiate };
    switch (row.type) {
      // Downloads are counted where versions are stored, so a zip served through a group counts for its member.
      case 'hosted':
        return countingDownloads(new HostedRepository(row, deps), deps.downloads);
      case 'proxy':
        return countingDownloads(new ProxyRepository(row, deps), deps.downloads);
      case 'group':
        return new GroupRepository(row, deps);
    }
  }

  /**
   * Why a repository without the publishing role takes no upload, saying where to publish instead:
   * the 405 the Go routes answer when `publisher` is absent.
   */
  async uploadRefusal(repo: GoRepository): Promise<MethodNotAllowed> {
    const name = JSON.stringify(repo.row.name);
    switch (repo.row.type) {
      case 'proxy':
        return new MethodNotAllowed(
          `repository ${name} is a proxy of ${repo.row.remoteUrl}: it caches modules on first request and takes no uploads; publish to a hosted repository`,
        );
      case 'group': {
        const hosted = (await repo.members?.hostedMembers()) ?? [];
        return new MethodNotAllowed(
          hosted.length
            ? `group ${name} takes no uploads: upload to a hosted member: ${hosted.join(', ')}`
            : `group ${name} takes no uploads and has no hosted member: upload to a hosted repository`,
        );
      }
      default:
        return new MethodNotAllowed(`repository ${name} takes no uploads`);
    }
  }

  /** The 404 the Go routes answer for /sumdb/ when `checksums` is absent: the go command then asks the database directly. */
  sumdbRefusal(repo: GoRepository): NotFound {
    return new NotFound(`repository ${JSON.stringify(repo.row.name)} is ${repo.row.type} and relays no checksum database`);
  }

  /** open() without an await, when the repository's row is in memory; undefined otherwise (open() decides). */
  openNow(name: string): GoRepository | undefined {
    const row = this.deps.repositories.rowNow(name);
    return row && this.instantiate(row);
  }

  /** The repository named, or NotFound. */
  async open(name: string): Promise<GoRepository> {
    return this.instantiate(await this.deps.repositories.rowByName(name));
  }
}
