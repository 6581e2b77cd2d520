import type { RepositoryRow } from '../db/schema';
import type { RepoDeps } from './deps';
import { GroupRepository } from './group';
import { HostedRepository } from './hosted';
import { ProxyRepository } from './proxy';
import type { GoRepository } from './repository';

/**
 * Repository rows -> GoRepository instances. Instances are cheap and built per request from the
 * current row, so admin changes (members, remote URL, policy) take effect at once in every process;
 * anything expensive to share (coalescing, caches) lives in deps.shared.
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

  /** Closes the shared services (the coalescer's LISTEN, fills in progress); the database is the caller's. */
  async close(): Promise<void> {
    const closable = [...this.deps.shared.values()].filter(
      (v): v is { close(): Promise<void> } => typeof (v as { close?: unknown })?.close === 'function',
    );
    this.deps.shared.clear();
    await Promise.all(closable.map((v) => v.close().catch(() => {})));
  }

  /** The repository named, or NotFound. */
  async open(name: string): Promise<GoRepository> {
    return this.instantiate(await this.deps.repositories.rowByName(name));
  }
}
