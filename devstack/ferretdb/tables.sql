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
-- Documents kept uncompressed. PostgreSQL compresses a large value, which hides its bytes, and the
-- tests check that no personal data is stored in clear text by reading the engine's files.
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
END $$;

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
