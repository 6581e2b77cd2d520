/**
 * Runs before every test file (bunfig.toml). The suite covers both database drivers: PGlite always,
 * PostgreSQL through ORBITREPO_TEST_DATABASE_URL. When that is unset, a PostgreSQL answering on the
 * usual local address (trust auth, database `test`) is used; when none answers, the PostgreSQL half
 * is skipped with one loud line instead of silently. ORBITREPO_TEST_DATABASE_URL=off opts out.
 */
import postgres from 'postgres';

const LOCAL = 'postgres://postgres@127.0.0.1:5432/test';

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

const configured = process.env.ORBITREPO_TEST_DATABASE_URL;
if (configured === 'off') {
  delete process.env.ORBITREPO_TEST_DATABASE_URL;
  console.warn('[tests] ORBITREPO_TEST_DATABASE_URL=off: the PostgreSQL half of the suite is skipped');
} else if (!configured) {
  if (await answers(LOCAL)) {
    process.env.ORBITREPO_TEST_DATABASE_URL = LOCAL;
    console.warn(`[tests] ORBITREPO_TEST_DATABASE_URL is unset; using the PostgreSQL that answers at ${LOCAL}`);
  } else {
    console.warn(`[tests] SKIPPING the PostgreSQL half of the suite: ORBITREPO_TEST_DATABASE_URL is unset and nothing answers at ${LOCAL}`);
  }
}
