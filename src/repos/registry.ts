import type { RepositoryRow } from '../db/schema';
import type { RepoDeps } from './deps';
import { GroupRepository } from './group';
import { HostedRepository } from './hosted';
import { ProxyRepository } from './proxy';
import type { GoRepository } from './repository';

/**
 * Repository rows -> repository instances. Instances are cheap and built per request from the
 * current row, so admin changes (members, remote URL, policy) take effect at once in every process;
 * what is expensive to share (the coalescer) is a field of the deps, made once in src/context.ts.
 */
export class RepositoryRegistry {
  constructor(private readonly deps: Omit<RepoDeps, 'instantiate'>) {}

  instantiate = (row: RepositoryRow): GoRepository => {
    const deps: RepoDeps = { ...this.deps, instantiate: this.instantiate };
    switch (row.type) {
      case 'hosted':
        return new HostedRepository(row, deps);
      case 'proxy':
        return new ProxyRepository(row, deps);
      case 'group':
        return new GroupRepository(row, deps);
    }
  };

  /** The repository named, or NotFound. */
  async open(name: string): Promise<GoRepository> {
    return this.instantiate(await this.deps.repositories.rowByName(name));
  }
}
