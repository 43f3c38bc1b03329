/**
 * What a PostgreSQL restore must reproduce, in the categories `POSTGRES_CATEGORIES` names:
 * per table an exact row count and an order-independent checksum, the sum of a 64-bit hash of
 * each row; sequences' values; every schema object's definition, privileges, large objects
 * and the database's own properties, read from the catalogs by name (see
 * docs/postgres-fingerprint.sql). Backups made before the catalog categories recorded rows,
 * sequences and the number of large objects only, and are compared on those.
 *
 * How a row is hashed is recorded as the fingerprint's `method`, and a restored copy is
 * measured the way its fingerprint was:
 *
 * - `column-hashes` (now): each column hashed by its type's own 64-bit hash function (the
 *   extended support function of the type's default hash operator class), seeded with the
 *   column's position, the columns XORed together. Types whose hash is not a function of the
 *   value alone (enums hash their OID, which a restore renumbers) or whose function takes
 *   another type (date, bool, timestamptz...) are hashed as text. On pgbench scale 50 this
 *   read `pgbench_accounts` in 0.85 s on one core, against 3.2 s for `hashtextextended` and
 *   8.1 s for md5: formatting every row as text was most of the cost.
 * - `hashtextextended`: `hashtextextended(row::text, 0)`;
 * - none: the first 64 bits of `md5(row::text)`, the first backups'.
 *
 * The catalog categories cost one query per database, replacing the two that read sequences
 * and large objects: on pgbench scale 10 the whole fingerprint took a median 232-239 ms
 * against 244-251 ms before them (five runs each, 2026-12). A database with many objects or
 * large objects pays for reading their definitions and contents once.
 *
 * Text is hashed in the "C" collation and read with fixed output settings, so that two
 * servers with different defaults measure the same rows alike. Neither hash is meant to
 * resist someone forging rows: a changed row changes the sum but for a chance of 2^-64.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OperationError } from '../../errors.js';
import { newFingerprint, type Fingerprint } from '../fingerprint.js';
import { psqlRows, sqlLiteral, type PgConnection } from './psql.js';

export const FINGERPRINT_METHOD = 'column-hashes';

/** What a fingerprint measured now covers; a fingerprint without `categories` is of the first three only. */
export const POSTGRES_CATEGORIES = [
  'rows',
  'sequences',
  'definitions',
  'large objects',
  'grants',
  'database properties',
] as const;

/**
 * docs/postgres-fingerprint.sql, which docs/recover-without-lifeboat.md runs with psql: one
 * text for both. Its catalog query sits between `SET search_path = pg_catalog;` and `RESET
 * search_path;`; the query after that writes the per-table statements psql's `\gexec` runs.
 */
const recipe = readFileSync(
  fileURLToPath(new URL('../../../docs/postgres-fingerprint.sql', import.meta.url)),
  'utf8',
);
const catalogStart = 'SET search_path = pg_catalog;';
const catalogEnd = 'RESET search_path;';
const catalogSql = `${catalogStart} ${between(recipe, catalogStart, catalogEnd).replace(/;\s*$/, '')}`;
const perTableStatementsSql = recipe
  .slice(recipe.indexOf(catalogEnd) + catalogEnd.length)
  .replace(/\\gexec\s*$/, '');

function between(text: string, start: string, end: string): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end, from);
  if (from < 0 || to < 0)
    throw new Error(`docs/postgres-fingerprint.sql lost its "${start}" ... "${end}" markers`);
  return text.slice(from + start.length, to).trim();
}

/** The earlier methods hashed the whole row as text. */
const wholeRowHash: Record<string, string> = {
  hashtextextended: 'hashtextextended(t::text, 0)',
  '': "('x' || left(md5(t::text), 16))::bit(64)::bigint",
};

export interface MeasureOptions {
  method: string | undefined;
  /** Measure the catalog categories too; false for a fingerprint recorded before them. */
  catalog: boolean;
  snapshots?: Map<string, string>;
}

/**
 * Measures `scope`'s databases on `server` (items keyed by the source's database names,
 * read from `restoredName(db)`). With `snapshots`, each database is read as of its exported
 * snapshot, the one its pg_dump reads: the fingerprint is then `consistent`, that of the dump
 * itself. Otherwise each query reads as of its start, which on a busy source is not the
 * dump's instant. One sequential scan per table and large object, constant memory.
 */
export async function measurePostgres(
  server: PgConnection,
  scope: string[],
  restoredName: (db: string) => string,
  options: MeasureOptions,
): Promise<Fingerprint> {
  const fingerprint = newFingerprint('postgres');
  if (options.method !== undefined) fingerprint.method = options.method;
  if (options.catalog) fingerprint.categories = [...POSTGRES_CATEGORIES];
  const snapshots = options.snapshots;
  if (snapshots !== undefined && scope.length > 0 && scope.every((db) => snapshots.has(db))) {
    fingerprint.consistent = true;
    // nextval() is outside every snapshot: pg_dump and this measurement each read a sequence
    // as it is at that moment, so writes in between advance it.
    fingerprint.advancing = ['sequences'];
  }
  for (const database of scope) {
    const conn = server.withDatabase(restoredName(database));
    const snapshot = snapshots?.get(database);
    const read = snapshot === undefined ? {} : { snapshot };
    if (options.catalog) {
      for (const [item, field, value] of await psqlRows(conn, catalogSql, { stable: true, ...read })) {
        const entry = (fingerprint.items[`${database}/${item ?? ''}`] ??= {});
        entry[field ?? ''] = field === 'count' ? Number(value) : (value ?? '');
      }
    } else {
      await measureBeforeCatalog(conn, database, fingerprint, read);
    }
    const statements = await tableStatements(conn, options.method, read);
    for (let i = 0; i < statements.length; i += 100) {
      const sql = statements.slice(i, i + 100).join('\nUNION ALL\n');
      for (const [table, rows, checksum] of await psqlRows(conn, sql, { stable: true, ...read })) {
        fingerprint.items[`${database}/table/${table}`] = { rows: Number(rows), checksum: checksum ?? '0' };
      }
    }
  }
  return fingerprint;
}

/** Sequences and the number of large objects, as backups before the catalog categories recorded them. */
async function measureBeforeCatalog(
  conn: PgConnection,
  database: string,
  fingerprint: Fingerprint,
  read: { snapshot?: string },
): Promise<void> {
  for (const [name, value] of await psqlRows(
    conn,
    `SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value::text, 'unused') FROM pg_sequences ORDER BY 1`,
    read,
  )) {
    fingerprint.items[`${database}/sequence/${name}`] = { value: value ?? 'unused' };
  }
  const [largeObjects] = await psqlRows(conn, 'SELECT count(*) FROM pg_largeobject_metadata', read);
  fingerprint.items[`${database}/large-objects`] = { count: Number(largeObjects?.[0] ?? 0) };
}

/** Per user table, the statement that returns its name, row count and checksum, measured the given way. */
async function tableStatements(
  conn: PgConnection,
  method: string | undefined,
  read: { snapshot?: string },
): Promise<string[]> {
  if (method === FINGERPRINT_METHOD) {
    return (await psqlRows(conn, perTableStatementsSql, read)).map(([statement]) => statement ?? '');
  }
  const whole = wholeRowHash[method ?? ''];
  if (whole === undefined) {
    throw new OperationError(
      `this backup's fingerprint was measured by "${method}", which this Lifeboat does not know`,
      {
        hint: 'Upgrade Lifeboat to the version that made the backup, or restore without the comparison (docs/recover-without-lifeboat.md).',
      },
    );
  }
  const tables = await psqlRows(
    conn,
    `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     ORDER BY 1`,
    read,
  );
  return tables.map(
    ([table]) =>
      `SELECT ${sqlLiteral(table ?? '')}, count(*), coalesce(sum(${whole}), 0) FROM ONLY ${table} AS t`,
  );
}
