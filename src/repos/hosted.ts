import type { RepositoryRow } from '../db/schema';
import { MethodNotAllowed, NotFound } from '../errors';
import type { RepoDeps } from './deps';
import type { GoFile, GoRepository, SumdbAnswer, UploadResult } from './repository';

/** Placeholder until the hosted repository lands: every read is NotFound. */
export class HostedRepository implements GoRepository {
  constructor(
    readonly row: RepositoryRow,
    private readonly deps: RepoDeps,
  ) {}
  async list(): Promise<string[]> {
    throw new NotFound('not implemented');
  }
  async latest(): Promise<string> {
    throw new NotFound('not implemented');
  }
  async info(): Promise<string> {
    throw new NotFound('not implemented');
  }
  async mod(): Promise<GoFile> {
    throw new NotFound('not implemented');
  }
  async zip(): Promise<GoFile> {
    throw new NotFound('not implemented');
  }
  async upload(): Promise<UploadResult> {
    throw new MethodNotAllowed('not implemented');
  }
  async deleteVersion(): Promise<void> {
    throw new NotFound('not implemented');
  }
  async sumdb(): Promise<SumdbAnswer> {
    throw new NotFound('not implemented');
  }
}
