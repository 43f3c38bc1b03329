/** A PostgreSQL server as a restore target: reading `--to`, looking at it, dropping what a restore replaces. */
import { UsageError } from '../../errors.js';
import { describeCounts, readServerTarget, type ServerKind } from '../database-server.js';
import { REPLACED_MARK } from '../store.js';
import type { PostgresTarget, TargetInput, TargetObservation } from '../target.js';
import { parsePgUrl, psqlRows, sqlLiteral } from './psql.js';

export const POSTGRES_HINT =
  '--to postgres://HOST:PORT/NEWDB (a new database), --to postgres://HOST:PORT/ with --database SRC=DEST, or --to source --force';

const server: ServerKind = {
  label: 'PostgreSQL',
  scheme: /^postgres(ql)?:\/\//i,
  hint: POSTGRES_HINT,
  databaseIn: (url) => parsePgUrl(url).database || undefined,
};

export function resolvePostgresTarget(input: TargetInput<{ url: string }>): PostgresTarget {
  const { url, databases } = readServerTarget(input, server);
  const conn = parsePgUrl(url);
  // Connect to a database the restore leaves alone: `postgres`, or template1 when
  // `postgres` itself is restored (it cannot be dropped while we are connected to it).
  const maintenance = Object.values(databases).includes('postgres') ? 'template1' : 'postgres';
  return {
    kind: 'postgres',
    url: withPgDatabase(url, maintenance),
    host: conn.host,
    port: conn.port,
    databases,
    source: input.isSource,
  };
}

/** `postgres://u:p@h:5432/x?sslmode=require` → the same with database `database`. */
function withPgDatabase(url: string, database: string): string {
  const m = /^(postgres(?:ql)?:\/\/[^/?#]*)(?:\/[^?#]*)?(\?[^#]*)?$/i.exec(url.trim());
  if (!m) throw new UsageError('a PostgreSQL url must be a libpq URI: postgres://user@host:port/database');
  const query = (m[2] ?? '').replace(/([?&])dbname=[^&]*&?/, '$1').replace(/[?&]$/, '');
  return `${m[1]}/${encodeURIComponent(database)}${query}`;
}

/** `url` pointed at `database`, its query kept. */
export function pgDatabaseUrl(url: string, database: string): string {
  const m = /^(postgres(?:ql)?:\/\/[^/?#]*)(?:\/[^?#]*)?(\?[^#]*)?$/i.exec(url);
  return m ? `${m[1]}/${encodeURIComponent(database)}${m[2] ?? ''}` : url;
}

export async function observePostgres(spec: PostgresTarget): Promise<TargetObservation> {
  const conn = parsePgUrl(spec.url);
  const names = Object.values(spec.databases);
  const existing = (
    await psqlRows(
      conn,
      `SELECT datname FROM pg_database WHERE datname IN (${names.map(sqlLiteral).join(', ')}) ORDER BY 1`,
    )
  ).map((r) => r[0] ?? '');
  const occupied: string[] = [];
  for (const name of existing) {
    const [row] = await psqlRows(
      conn.withDatabase(name),
      `SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')), count(*)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
    );
    occupied.push(
      `database "${name}" on ${spec.host}:${spec.port} ${describeCounts(Number(row?.[0] ?? 0), Number(row?.[1] ?? 0))}`,
    );
  }
  return {
    occupied,
    actions: existing.map(
      (name) =>
        `restore beside "${name}", prove the copy, then swap: "${name}" (its connections closed) is renamed aside to "${name}${REPLACED_MARK}<id>" and kept, not dropped`,
    ),
    existingDatabases: existing,
  };
}
