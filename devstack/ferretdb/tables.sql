-- What the project adds to every table FerretDB 1.24 keeps a collection in.
--
-- A version guard. FerretDB updates a document by reading it, changing it and writing the whole of
-- it back, without a lock, so two concurrent updates of one document lose one of them. Every update
-- the services make raises the document's `version` by one; the guard refuses a write that does
-- not, which is what a write based on a stale read does. The writer gets an error (SQLSTATE 40001)
-- and tries again on the current document, as MongoDB itself would have done.
--
-- An index for lookups by `_id`. FerretDB filters `_jsonb->'_id' @> value`, which its own btree
-- index on `_id` cannot serve, so every find or update by `_id` scanned the whole table; a GIN index
-- on the same expression serves it.
--
-- A twin for every index the services declare. FerretDB turns an index on `field` (or `a.b`) into
-- a btree on `_jsonb->'field'`, but filters a query on that field with `_jsonb->'field' @> value`
-- (`_jsonb #> '{a,b}' @> value` for a path), which only a GIN index on the same expression serves;
-- without the twin such a query reads the whole table however few documents it wants. Only an
-- index's first field is twinned: FerretDB pushes down equalities only, which lead an index. A
-- unique index is left alone: it is there to refuse duplicates, and no query looks one up.
--
-- Documents kept uncompressed. PostgreSQL compresses a large value, which hides its bytes, and the
-- tests check that no personal data is stored in clear text by reading the engine's files.
--
-- Documents kept in their row up to a page. PostgreSQL moves a row of over 2 kB out to its TOAST
-- table in chunks, and a request, case or notification (about 3 kB, half of it FerretDB's type
-- map) was read as three rows instead of one.
--
-- Dead row versions cleared once they are 1% of a table, not PostgreSQL's 20%. Every update writes
-- a new version and new entries in every index (FerretDB's indexes cover the whole document, so no
-- update is HOT); until VACUUM removes the old ones, each lookup by `_id` and each sweep for
-- `unsettled` or `unpublished` documents reads them too, and at a fifth of a year's history that
-- is tens of thousands of versions.
CREATE OR REPLACE FUNCTION adminduk_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD._jsonb ? 'version'
     AND (NEW._jsonb ->> 'version')::numeric IS DISTINCT FROM (OLD._jsonb ->> 'version')::numeric + 1
  THEN
    RAISE EXCEPTION 'write conflict: the document changed since it was read'
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION adminduk_guard_table(target regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  table_name text := (SELECT relname FROM pg_class WHERE oid = target);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = target AND attname = '_jsonb')
     OR table_name LIKE '\_ferretdb%'
  THEN
    RETURN;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM pg_trigger WHERE tgrelid = target AND tgname = 'adminduk_version_guard'
  ) THEN
    EXECUTE format(
      'CREATE TRIGGER adminduk_version_guard BEFORE UPDATE ON %s '
      'FOR EACH ROW EXECUTE FUNCTION adminduk_version_guard()', target);
  END IF;
  EXECUTE format(
    'CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> ''_id'') jsonb_path_ops)',
    table_name || '_adminduk_id', target);
  EXECUTE format('ALTER TABLE %s ALTER COLUMN _jsonb SET STORAGE EXTERNAL', target);
  EXECUTE format(
    'ALTER TABLE %s SET (toast_tuple_target = 8160, autovacuum_vacuum_scale_factor = 0.01)',
    target);
END $$;

CREATE OR REPLACE FUNCTION adminduk_twin_index(btree regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  target regclass := (SELECT indrelid FROM pg_index WHERE indexrelid = btree);
  path text[] := ARRAY(
    SELECT m[1] FROM regexp_matches(pg_get_indexdef(btree, 1, false), '''([^'']*)''', 'g') AS m
  );
BEGIN
  IF (SELECT relname FROM pg_class WHERE oid = target) LIKE '\_ferretdb%'
     OR (SELECT indisunique FROM pg_index WHERE indexrelid = btree)
     OR (SELECT amname FROM pg_am JOIN pg_class ON pg_class.relam = pg_am.oid
         WHERE pg_class.oid = btree) <> 'btree'
     OR cardinality(path) = 0 OR path = ARRAY['_id']
  THEN
    RETURN;
  END IF;
  EXECUTE format(
    'CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb %s) jsonb_path_ops)',
    left((SELECT relname FROM pg_class WHERE oid = btree), 55) || '_gin', target,
    CASE WHEN cardinality(path) = 1 THEN format('-> %L', path[1])
         ELSE format('#> %L', path::text) END);
END $$;

CREATE OR REPLACE FUNCTION adminduk_twin_new_indexes() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  created record;
BEGIN
  FOR created IN
    SELECT objid FROM pg_event_trigger_ddl_commands()
    WHERE command_tag = 'CREATE INDEX' AND object_type = 'index'
  LOOP
    PERFORM adminduk_twin_index(created.objid::regclass);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS adminduk_twin_new_indexes;
CREATE EVENT TRIGGER adminduk_twin_new_indexes ON ddl_command_end
  WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION adminduk_twin_new_indexes();

CREATE OR REPLACE FUNCTION adminduk_guard_new_tables() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  created record;
BEGIN
  FOR created IN
    SELECT objid FROM pg_event_trigger_ddl_commands()
    WHERE command_tag = 'CREATE TABLE' AND object_type = 'table'
  LOOP
    PERFORM adminduk_guard_table(created.objid::regclass);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS adminduk_guard_new_tables;
CREATE EVENT TRIGGER adminduk_guard_new_tables ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION adminduk_guard_new_tables();

-- Tables made before the guard existed (data kept from an earlier run).
SELECT adminduk_guard_table(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema');

-- Indexes made before the twins existed.
SELECT adminduk_twin_index(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attname = '_jsonb');
