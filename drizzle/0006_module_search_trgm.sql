-- Substring search (LIKE '%text%' on lower(module_path), repos/module-search.ts) through a trigram index. pg_trgm is
-- an extension a PostgreSQL server may not offer, or the migrating role may not be allowed to create: then the
-- migration only says so and the search scans instead, with the same answers. PGlite loads it in db/open.ts.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS "module_versions_lower_path_trgm" ON "module_versions" USING gin (lower("module_path") gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'module search: no pg_trgm trigram index (%), substring searches will scan', SQLERRM;
END $$;
