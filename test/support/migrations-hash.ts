import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_FOLDER } from '../../src/db/open';

/** A hash of every file under drizzle/: a schema change names a new template instead of reusing a stale one. */
export function migrationsHash(): string {
  const hash = createHash('sha256');
  const files = readdirSync(MIGRATIONS_FOLDER, { recursive: true })
    .map(String)
    .filter((f) => statSync(join(MIGRATIONS_FOLDER, f)).isFile())
    .sort();
  for (const f of files) hash.update(`${f}\0`).update(readFileSync(join(MIGRATIONS_FOLDER, f)));
  return hash.digest('hex').slice(0, 16);
}
