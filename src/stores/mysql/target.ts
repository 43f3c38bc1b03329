/** A MySQL/MariaDB server as a restore target: reading `--to` and looking at what it holds. */
import { describeCounts, readServerTarget, type ServerKind } from '../database-server.js';
import type { MysqlTarget, TargetInput, TargetObservation } from '../target.js';
import { REPLACED_MARK, STAGING_MARK } from '../store.js';
import { mysqlLiteral, mysqlRows, parseMysqlUrl } from './client.js';

export const MYSQL_HINT =
  '--to mysql://USER@HOST:PORT/NEWDB, --to mysql://USER@HOST:PORT/ with --database SRC=DEST, or --to source --force';

const server: ServerKind = {
  label: 'MySQL',
  scheme: /^(mysql|mariadb):\/\//i,
  hint: MYSQL_HINT,
  databaseIn: (url) => parseMysqlUrl(url).database || undefined,
};

export function resolveMysqlTarget(input: TargetInput<{ url: string }>): MysqlTarget {
  const { url, databases } = readServerTarget(input, server);
  const conn = parseMysqlUrl(url);
  const root = new URL(url);
  root.pathname = '/';
  return {
    kind: 'mysql',
    url: root.toString(),
    host: conn.host,
    port: conn.port,
    databases,
    source: input.isSource,
  };
}

/** `url` pointed at `database`. */
export function mysqlDatabaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export async function observeMysql(spec: MysqlTarget): Promise<TargetObservation> {
  const conn = parseMysqlUrl(spec.url);
  const names = Object.values(spec.databases);
  const existing = (
    await mysqlRows(
      conn,
      `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${names.map(mysqlLiteral).join(', ')}) ORDER BY 1`,
    )
  ).map((r) => r[0] ?? '');
  const occupied: string[] = [];
  for (const name of existing) {
    const [row] = await mysqlRows(
      conn,
      `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${mysqlLiteral(name)} AND TABLE_TYPE = 'BASE TABLE'),
              (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${mysqlLiteral(name)})
            + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${mysqlLiteral(name)})`,
    );
    occupied.push(
      `database \`${name}\` on ${spec.host}:${spec.port} ${describeCounts(Number(row?.[0] ?? 0), Number(row?.[1] ?? 0))}`,
    );
  }
  return {
    occupied,
    actions: existing.map(
      (name) =>
        `restore beside \`${name}\` as \`${name}${STAGING_MARK}<id>\`, prove the copy, then swap it in: the tables, views, triggers, routines and events of \`${name}\` are moved to \`${name}${REPLACED_MARK}<id>\` and kept, not dropped`,
    ),
    existingDatabases: existing,
  };
}
