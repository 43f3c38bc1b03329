-- Lifeboat's fingerprint of a PostgreSQL database (method "column-hashes"): per user table,
-- its row count and the sum of a 64-bit hash of each row, each column hashed by its type's
-- own hash function (seeded with the column's position among the live columns) or, where
-- that hash is not a function of the value alone, as text in the "C" collation.
--
--   PGOPTIONS='-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex' \
--     psql -X -At -d DBNAME -f postgres-fingerprint.sql
--
-- prints one line per table, `schema.table|rows|checksum`, to compare with the manifest's
-- fingerprint.items["DB/table/schema.table"]. Lifeboat runs this same query.
WITH hash_fn AS (
  SELECT oc.opcintype AS type, format('%I.%I', pn.nspname, pp.proname) AS fn
  FROM pg_opclass oc
  JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
  JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amprocnum = 2
    AND ap.amproclefttype = oc.opcintype AND ap.amprocrighttype = oc.opcintype
  JOIN pg_proc pp ON pp.oid = ap.amproc AND pp.proargtypes[0] = oc.opcintype
  JOIN pg_namespace pn ON pn.oid = pp.pronamespace
  JOIN pg_type ot ON ot.oid = oc.opcintype AND ot.typtype = 'b'
  WHERE oc.opcdefault
),
col AS (
  SELECT a.attrelid AS rel,
    row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS pos,
    format('t.%I', a.attname) AS ref,
    coalesce(direct.fn, CASE WHEN elem.fn IS NOT NULL THEN 'pg_catalog.hash_array_extended' END) AS fn,
    bt.typcollation <> 0 AS collatable
  FROM pg_attribute a
  JOIN pg_type ty ON ty.oid = a.atttypid
  JOIN pg_type bt ON bt.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
  LEFT JOIN hash_fn direct ON direct.type = bt.oid
  LEFT JOIN hash_fn elem ON bt.typsubscript = 'pg_catalog.array_subscript_handler'::regproc
    AND elem.type = bt.typelem
  WHERE a.attnum > 0 AND NOT a.attisdropped
),
tbl AS (
  SELECT format('%I.%I', n.nspname, c.relname) AS name,
    coalesce((
      SELECT string_agg(format('coalesce(%s(%s, %s), %s)',
          coalesce(col.fn, 'pg_catalog.hashtextextended'),
          CASE WHEN col.fn IS NULL THEN format('(%s::text) COLLATE "C"', col.ref)
               WHEN col.collatable THEN format('%s COLLATE "C"', col.ref)
               ELSE col.ref END,
          col.pos, -col.pos), ' # ' ORDER BY col.pos)
      FROM col WHERE col.rel = c.oid), '0') AS row_hash
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_%'
)
SELECT format('SELECT %L, count(*), coalesce(sum(%s), 0) FROM ONLY %s AS t', name, row_hash, name)
FROM tbl ORDER BY name
\gexec
