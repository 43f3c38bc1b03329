-- Lifeboat's fingerprint of a PostgreSQL database: what a restore of its dump must reproduce.
--
--   PGOPTIONS='-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex' \
--     psql -X -At -d DBNAME -f postgres-fingerprint.sql
--
-- prints two kinds of lines, to compare with the manifest's fingerprint.items (keys "DB/..."):
--
--   ITEM|FIELD|VALUE            fingerprint.items["DB/ITEM"].FIELD, from the catalogs:
--     sequence/S|value          each sequence's last value
--     definition/KIND NAME|md5  each schema object's definition: a table's columns, types,
--                               defaults, constraints, indexes, triggers, rules, policies,
--                               statistics, options and comments; views' and functions' text;
--                               types, domains, enums; schemas, extensions, collations...
--                               and every owner. Objects an extension creates are left to it.
--     grant/KIND NAME|acl       each object's privileges where they are not the default ones
--     large-objects|count, content, access   their number, contents, owners and privileges
--     database|owner, encoding, collate, ctype, acl, settings, comment   the database itself
--   SCHEMA.TABLE|ROWS|CHECKSUM  fingerprint.items["DB/table/SCHEMA.TABLE"].rows and .checksum
--
-- Everything is read by name (never by OID, which a restore renumbers; large objects keep
-- theirs, which a dump restores), in a fixed order, deparsed by PostgreSQL's own pg_get_*def
-- functions with search_path set to pg_catalog so that every name prints qualified: two servers
-- holding the same objects print the same lines. Lifeboat runs this same text: the catalog
-- query, then the per-table statements the last query writes (psql's \gexec runs them).
--
-- Rows: each table's row count and the sum of a 64-bit hash of each row (fingerprint method
-- "column-hashes"), each column hashed by its type's own hash function (seeded with the
-- column's position among the live columns) or, where that hash is not a function of the value
-- alone, as text in the "C" collation.

SET search_path = pg_catalog;

WITH ns AS (
  SELECT oid, nspname, nspowner, nspacl FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%'
),
-- What CREATE EXTENSION makes, the extension recreates: compared as the extension's version.
ext AS (
  SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
),
-- What PostgreSQL makes along with another object (a range type's constructors and casts),
-- that object's definition recreates.
implied AS (
  SELECT classid, objid FROM pg_depend WHERE deptype IN ('e', 'i')
),
rel AS (
  SELECT c.oid, c.relkind, c.relowner, c.relacl,
    CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
      WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' ELSE 'foreign table' END
      || ' ' || format('%I.%I', n.nspname, c.relname) AS item
  FROM pg_class c JOIN ns n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)
),
fn AS (
  SELECT p.oid, p.prokind, p.proowner, p.proacl,
    CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function'
      ELSE 'function' END
      || ' ' || format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS item
  FROM pg_proc p JOIN ns n ON n.oid = p.pronamespace
  WHERE NOT EXISTS (SELECT 1 FROM implied i WHERE i.classid = 'pg_proc'::regclass AND i.objid = p.oid)
),
typ AS (
  SELECT t.oid, t.typowner, t.typacl, t.typtype, t.typrelid, t.typbasetype, t.typtypmod, t.typnotnull,
    t.typdefault, t.typcollation, t.typinput, t.typoutput, t.typlen, t.typalign::text,
    CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type'
      WHEN 'r' THEN 'range type' ELSE 'type' END
      || ' ' || format('%I.%I', n.nspname, t.typname) AS item
  FROM pg_type t JOIN ns n ON n.oid = t.typnamespace
  WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r')
    -- a table's row type comes with the table, an array type with its element type
    AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
    AND NOT (t.typtype = 'b' AND t.typcategory = 'A')
    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)
),
definitions AS (
  SELECT 'schema ' || quote_ident(n.nspname) AS item,
    concat_ws(E'\n', 'owner ' || pg_get_userbyid(n.nspowner),
      'comment ' || obj_description(n.oid, 'pg_namespace')) AS def
  FROM ns n
  WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_namespace'::regclass AND ext.objid = n.oid)
  UNION ALL
  SELECT r.item, concat_ws(E'\n',
    'owner ' || pg_get_userbyid(c.relowner),
    'persistence ' || c.relpersistence::text,
    'options ' || array_to_string(ARRAY(SELECT o FROM unnest(c.reloptions) o ORDER BY o), ','),
    'row security ' || c.relrowsecurity || ' forced ' || c.relforcerowsecurity,
    'replica identity ' || c.relreplident::text,
    'partition by ' || pg_get_partkeydef(c.oid),
    'inherits ' || (SELECT string_agg(format('%I.%I', pn.nspname, p.relname), ',' ORDER BY i.inhseqno)
      FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE i.inhrelid = c.oid),
    'bound ' || pg_get_expr(c.relpartbound, c.oid),
    'query ' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
    'server ' || (SELECT s.srvname || ' ' || coalesce(array_to_string(ft.ftoptions, ','), '')
      FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid),
    'comment ' || obj_description(c.oid, 'pg_class'),
    (SELECT string_agg(concat_ws(' ', 'column', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
        'collate ' || (SELECT quote_ident(collname) FROM pg_collation WHERE oid = a.attcollation),
        CASE WHEN a.attnotnull THEN 'not null' END,
        'identity ' || nullif(a.attidentity::text, ''), 'generated ' || nullif(a.attgenerated::text, ''),
        'default ' || pg_get_expr(d.adbin, d.adrelid),
        'storage ' || a.attstorage::text, 'compression ' || nullif(a.attcompression::text, ''),
        'comment ' || col_description(c.oid, a.attnum)), E'\n' ORDER BY a.attnum)
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT string_agg(concat_ws(' ', 'constraint', quote_ident(k.conname), pg_get_constraintdef(k.oid),
        'comment ' || obj_description(k.oid, 'pg_constraint')), E'\n' ORDER BY k.conname)
      FROM pg_constraint k WHERE k.conrelid = c.oid),
    (SELECT string_agg(concat_ws(' ', pg_get_indexdef(x.indexrelid), CASE WHEN x.indisclustered THEN 'clustered' END,
        'comment ' || obj_description(x.indexrelid, 'pg_class')), E'\n' ORDER BY pg_get_indexdef(x.indexrelid))
      FROM pg_index x WHERE x.indrelid = c.oid),
    (SELECT string_agg(concat_ws(' ', pg_get_triggerdef(g.oid), 'enabled ' || g.tgenabled::text,
        'comment ' || obj_description(g.oid, 'pg_trigger')), E'\n' ORDER BY g.tgname)
      FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal),
    (SELECT string_agg(concat_ws(' ', pg_get_ruledef(w.oid), 'enabled ' || w.ev_enabled::text,
        'comment ' || obj_description(w.oid, 'pg_rewrite')), E'\n' ORDER BY w.rulename)
      FROM pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename <> '_RETURN'),
    (SELECT string_agg(concat_ws(' ', 'policy', quote_ident(y.polname), y.polcmd::text,
        CASE WHEN y.polpermissive THEN 'permissive' ELSE 'restrictive' END,
        'to ' || (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r)) END, ','
            ORDER BY CASE WHEN r = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r)) END)
          FROM unnest(y.polroles) r),
        'using ' || pg_get_expr(y.polqual, y.polrelid), 'check ' || pg_get_expr(y.polwithcheck, y.polrelid),
        'comment ' || obj_description(y.oid, 'pg_policy')), E'\n' ORDER BY y.polname)
      FROM pg_policy y WHERE y.polrelid = c.oid),
    (SELECT string_agg(concat_ws(' ', pg_get_statisticsobjdef(s.oid),
        'comment ' || obj_description(s.oid, 'pg_statistic_ext')), E'\n' ORDER BY s.stxname)
      FROM pg_statistic_ext s WHERE s.stxrelid = c.oid),
    (SELECT concat_ws(' ', 'sequence', format_type(q.seqtypid, NULL), 'start', q.seqstart, 'increment', q.seqincrement,
        'min', q.seqmin, 'max', q.seqmax, 'cache', q.seqcache, CASE WHEN q.seqcycle THEN 'cycle' END)
      FROM pg_sequence q WHERE q.seqrelid = c.oid),
    (SELECT string_agg(format('owned by %I.%I.%I', tn.nspname, t.relname, ta.attname), ',')
      FROM pg_depend dp JOIN pg_class t ON t.oid = dp.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      JOIN pg_attribute ta ON ta.attrelid = t.oid AND ta.attnum = dp.refobjsubid
      WHERE c.relkind = 'S' AND dp.classid = 'pg_class'::regclass AND dp.objid = c.oid
        AND dp.refclassid = 'pg_class'::regclass AND dp.deptype IN ('a', 'i'))
  )
  FROM rel r JOIN pg_class c ON c.oid = r.oid
  UNION ALL
  SELECT f.item, concat_ws(E'\n', 'owner ' || pg_get_userbyid(f.proowner),
    CASE WHEN f.prokind = 'a' THEN (
      SELECT concat_ws(' ', 'aggregate', g.aggkind::text, g.aggtransfn, g.aggfinalfn, g.aggcombinefn,
        format_type(g.aggtranstype, NULL), quote_literal(g.agginitval), g.aggsortop::regoperator)
      FROM pg_aggregate g WHERE g.aggfnoid = f.oid)
    ELSE pg_get_functiondef(f.oid) END,
    'comment ' || obj_description(f.oid, 'pg_proc'))
  FROM fn f
  UNION ALL
  SELECT t.item, concat_ws(E'\n', 'owner ' || pg_get_userbyid(t.typowner),
    'labels ' || (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder)
      FROM pg_enum e WHERE e.enumtypid = t.oid),
    CASE WHEN t.typtype = 'd' THEN concat_ws(' ', 'domain over', format_type(t.typbasetype, t.typtypmod),
      CASE WHEN t.typnotnull THEN 'not null' END, 'default ' || t.typdefault,
      'collate ' || (SELECT quote_ident(collname) FROM pg_collation WHERE oid = t.typcollation)) END,
    (SELECT string_agg(concat_ws(' ', 'constraint', quote_ident(k.conname), pg_get_constraintdef(k.oid)), E'\n' ORDER BY k.conname)
      FROM pg_constraint k WHERE k.contypid = t.oid),
    (SELECT string_agg(concat_ws(' ', 'attribute', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
        'collate ' || (SELECT quote_ident(collname) FROM pg_collation WHERE oid = a.attcollation)), E'\n' ORDER BY a.attnum)
      FROM pg_attribute a WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT concat_ws(' ', 'range of', format_type(r.rngsubtype, NULL), o.opcname, r.rngcanonical, r.rngsubdiff,
        'collate ' || (SELECT quote_ident(collname) FROM pg_collation WHERE oid = r.rngcollation))
      FROM pg_range r JOIN pg_opclass o ON o.oid = r.rngsubopc WHERE r.rngtypid = t.oid),
    CASE WHEN t.typtype = 'b' THEN concat_ws(' ', 'base', t.typinput, t.typoutput, t.typlen, t.typalign::text) END,
    'comment ' || obj_description(t.oid, 'pg_type'))
  FROM typ t
  UNION ALL
  SELECT 'extension ' || quote_ident(e.extname), concat_ws(E'\n', 'version ' || e.extversion,
    'schema ' || quote_ident(n.nspname), 'owner ' || pg_get_userbyid(e.extowner),
    'comment ' || obj_description(e.oid, 'pg_extension'))
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  UNION ALL
  SELECT 'collation ' || format('%I.%I', n.nspname, l.collname), concat_ws(' ', l.collprovider::text, l.collisdeterministic,
    l.collcollate, l.collctype, 'owner ' || pg_get_userbyid(l.collowner), 'comment ' || obj_description(l.oid, 'pg_collation'))
  FROM pg_collation l JOIN ns n ON n.oid = l.collnamespace
  WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_collation'::regclass AND ext.objid = l.oid)
  UNION ALL
  SELECT 'event trigger ' || quote_ident(v.evtname), concat_ws(' ', v.evtevent, v.evtfoid::regproc, v.evtenabled::text,
    array_to_string(v.evttags, ','), 'owner ' || pg_get_userbyid(v.evtowner), 'comment ' || obj_description(v.oid, 'pg_event_trigger'))
  FROM pg_event_trigger v
  WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_event_trigger'::regclass AND ext.objid = v.oid)
  UNION ALL
  SELECT 'publication ' || quote_ident(b.pubname), concat_ws(' ', b.puballtables, b.pubinsert, b.pubupdate, b.pubdelete,
    b.pubtruncate, 'owner ' || pg_get_userbyid(b.pubowner),
    (SELECT string_agg(format('%I.%I', pt.schemaname, pt.tablename), ',' ORDER BY pt.schemaname, pt.tablename) FROM pg_publication_tables pt
      WHERE pt.pubname = b.pubname))
  FROM pg_publication b
  UNION ALL
  SELECT 'server ' || quote_ident(s.srvname), concat_ws(' ', w.fdwname, s.srvtype, s.srvversion,
    array_to_string(ARRAY(SELECT o FROM unnest(s.srvoptions) o ORDER BY o), ','), 'owner ' || pg_get_userbyid(s.srvowner))
  FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
  UNION ALL
  -- Rarer kinds, compared by their identity: that they exist, under their names.
  SELECT 'object ' || (pg_identify_object(o.classid, o.objid, 0)).identity, (pg_identify_object(o.classid, o.objid, 0)).type
  FROM (
    SELECT 'pg_operator'::regclass AS classid, x.oid AS objid FROM pg_operator x JOIN ns ON ns.oid = x.oprnamespace
    UNION ALL SELECT 'pg_opclass'::regclass, x.oid FROM pg_opclass x JOIN ns ON ns.oid = x.opcnamespace
    UNION ALL SELECT 'pg_opfamily'::regclass, x.oid FROM pg_opfamily x JOIN ns ON ns.oid = x.opfnamespace
    UNION ALL SELECT 'pg_conversion'::regclass, x.oid FROM pg_conversion x JOIN ns ON ns.oid = x.connamespace
    UNION ALL SELECT 'pg_ts_config'::regclass, x.oid FROM pg_ts_config x JOIN ns ON ns.oid = x.cfgnamespace
    UNION ALL SELECT 'pg_ts_dict'::regclass, x.oid FROM pg_ts_dict x JOIN ns ON ns.oid = x.dictnamespace
    UNION ALL SELECT 'pg_cast'::regclass, x.oid FROM pg_cast x WHERE x.oid >= 16384
    UNION ALL SELECT 'pg_transform'::regclass, x.oid FROM pg_transform x
    UNION ALL SELECT 'pg_language'::regclass, x.oid FROM pg_language x WHERE x.oid >= 16384
  ) o
  WHERE NOT EXISTS (SELECT 1 FROM implied i WHERE i.classid = o.classid AND i.objid = o.objid)
),
-- Privileges as aclitem text, which names roles; sorted, and left out where they are the
-- object's default ones (which a dump does not restate).
acls AS (
  SELECT 'schema ' || quote_ident(n.nspname) AS item, n.nspacl AS acl, acldefault('n', n.nspowner) AS dflt FROM ns n
  UNION ALL
  SELECT r.item, r.relacl, acldefault((CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END)::"char", r.relowner) FROM rel r
  UNION ALL
  SELECT r.item || ' column ' || quote_ident(a.attname), a.attacl, NULL
  FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT f.item, f.proacl, acldefault('f', f.proowner) FROM fn f
  UNION ALL
  SELECT t.item, t.typacl, acldefault('T', t.typowner) FROM typ t
  UNION ALL
  SELECT 'foreign data wrapper ' || quote_ident(w.fdwname), w.fdwacl, acldefault('F', w.fdwowner) FROM pg_foreign_data_wrapper w
  UNION ALL
  SELECT 'server ' || quote_ident(s.srvname), s.srvacl, acldefault('S', s.srvowner) FROM pg_foreign_server s
  UNION ALL
  SELECT 'language ' || quote_ident(l.lanname), l.lanacl, acldefault('l', l.lanowner) FROM pg_language l
  WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_language'::regclass AND ext.objid = l.oid)
  UNION ALL
  SELECT 'default privileges of ' || quote_ident(pg_get_userbyid(d.defaclrole))
      || coalesce(' in schema ' || quote_ident(n.nspname), '') || ' on ' || d.defaclobjtype::text,
    d.defaclacl, NULL
  FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
),
grants AS (
  SELECT item,
    coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(acl) x), '') AS acl,
    coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(dflt) x), '') AS dflt
  FROM acls WHERE acl IS NOT NULL
),
large_objects AS (
  SELECT count(*) AS count,
    coalesce(sum(('x' || left(md5(m.oid || ':' || md5(lo_get(m.oid))), 16))::bit(64)::bigint::numeric), 0) AS content,
    coalesce(sum(('x' || left(md5(concat_ws(':', m.oid, pg_get_userbyid(m.lomowner),
      (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(m.lomacl) x))), 16))::bit(64)::bigint::numeric), 0) AS access
  FROM pg_largeobject_metadata m
)
SELECT format('sequence/%I.%I', schemaname, sequencename), 'value', coalesce(last_value::text, 'unused')
FROM pg_sequences
UNION ALL
SELECT 'definition/' || item, 'md5', md5(coalesce(def, '')) FROM definitions
UNION ALL
SELECT 'grant/' || item, 'acl', acl FROM grants WHERE acl <> dflt
UNION ALL
SELECT 'large-objects', field, value
FROM large_objects, LATERAL (VALUES ('count', count::text), ('content', content::text), ('access', access::text)) v (field, value)
UNION ALL
SELECT 'database', field, value
FROM pg_database d, LATERAL (VALUES
  ('owner', pg_get_userbyid(d.datdba)::text),
  ('encoding', pg_encoding_to_char(d.encoding)),
  ('collate', d.datcollate::text),
  ('ctype', d.datctype::text),
  ('acl', coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text)
    FROM unnest(coalesce(d.datacl, acldefault('d', d.datdba))) x), '')),
  ('settings', coalesce((SELECT string_agg(CASE WHEN s.setrole = 0 THEN '' ELSE quote_ident(pg_get_userbyid(s.setrole)) || ': ' END
    || c, E'\n' ORDER BY CASE WHEN s.setrole = 0 THEN '' ELSE pg_get_userbyid(s.setrole) END, c)
    FROM pg_db_role_setting s, unnest(s.setconfig) c WHERE s.setdatabase = d.oid), '')),
  ('comment', coalesce(shobj_description(d.oid, 'pg_database'), ''))
) v (field, value)
WHERE d.datname = current_database()
ORDER BY 1, 2;

RESET search_path;

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
