import { hiddenRepository, type PermissionService } from '../auth/permissions';
import type { Access, Principal } from '../auth/principal';
import type { RepositoryRow } from '../db/schema';
import { NotFound } from '../errors';
import type { RepositoryService } from '../repos/repository-service';

/**
 * The named repository, once `principal` may do `access` to it. A missing repository answers as a
 * forbidden one does (401 anonymous, 403 signed in; see hiddenRepository), on /go/, the admin API and
 * the UI alike: only administrators, who may see every repository, are told 404.
 */
export async function authorizedRepository(
  services: { repositories: RepositoryService; permissions: PermissionService },
  principal: Principal,
  name: string,
  access: Access,
): Promise<RepositoryRow> {
  let row: RepositoryRow;
  try {
    row = await services.repositories.rowByName(name);
  } catch (err) {
    if (err instanceof NotFound && !(principal.kind === 'user' && principal.isAdmin)) throw hiddenRepository(principal, name);
    throw err;
  }
  await services.permissions.authorize(principal, row, access);
  return row;
}

/** Every repository `principal` may read, by name; the others are left out without a word. */
export async function readableRepositories(
  services: { repositories: RepositoryService; permissions: PermissionService },
  principal: Principal,
): Promise<RepositoryRow[]> {
  const rows = await services.repositories.allRows();
  const may = await Promise.all(
    rows.map((row) =>
      services.permissions.authorize(principal, row, 'read').then(
        () => true,
        () => false,
      ),
    ),
  );
  return rows.filter((_, i) => may[i]);
}
