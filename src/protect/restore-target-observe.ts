/** What a restore target holds already: a restore never writes over data without a confirmation. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { mysqlLiteral, mysqlRows, parseMysqlUrl } from '../stores/mysql/client.js';
import { parsePgUrl, psqlRows, sqlLiteral } from '../stores/postgres/psql.js';
import { parseRedisUrl, redisCli } from '../stores/redis/client.js';

/** A PostgreSQL or MySQL server that databases are restored into. */
import type { MysqlTarget, PostgresTarget, TargetSpec } from './restore-target.js';

export interface TargetObservation {
  /** One line per thing the restore would replace or write over. Empty: the target is new or empty. */
  occupied: string[];
  /** What a confirmed restore does to them, for the confirmation prompt. */
  actions: string[];
  /** Databases (destination names) that exist on the target now. */
  existingDatabases: string[];
}

export async function observeTarget(spec: TargetSpec, sourceType: string): Promise<TargetObservation> {
  switch (spec.kind) {
    case 'postgres':
      return observePostgres(spec);
    case 'mysql':
      return observeMysql(spec);
    case 'redis-server':
      return observeRedis(spec);
    case 'directory':
      return observeDirectory(spec, sourceType);
  }
}

async function observePostgres(spec: PostgresTarget): Promise<TargetObservation> {
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
      (name) => `DROP DATABASE "${name}" (closing its connections) and create it again from the backup`,
    ),
    existingDatabases: existing,
  };
}

async function observeMysql(spec: MysqlTarget): Promise<TargetObservation> {
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
    actions: existing.map((name) => `DROP DATABASE \`${name}\` and create it again from the backup`),
    existingDatabases: existing,
  };
}

function describeCounts(tables: number, objects: number): string {
  if (objects === 0) return 'exists (empty)';
  const others = objects - tables;
  return `holds ${tables} table(s)${others > 0 ? ` and ${others} other object(s)` : ''}`;
}

async function observeRedis(spec: Extract<TargetSpec, { kind: 'redis-server' }>): Promise<TargetObservation> {
  const keys = await redisKeyCount(spec.url);
  return keys === 0
    ? { occupied: [], actions: [], existingDatabases: [] }
    : {
        occupied: [`Redis at ${spec.host}:${spec.port} holds ${keys} key(s)`],
        actions: [
          `FLUSHALL on ${spec.host}:${spec.port} (every key of every database is deleted), then load the backup`,
        ],
        existingDatabases: [],
      };
}

export async function redisKeyCount(url: string): Promise<number> {
  const keyspace = await redisCli(parseRedisUrl(url), ['INFO', 'keyspace']);
  return [...keyspace.matchAll(/^db\d+:keys=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function observeDirectory(
  spec: Extract<TargetSpec, { kind: 'directory' }>,
  sourceType: string,
): Promise<TargetObservation> {
  if (!existsSync(spec.path)) return { occupied: [], actions: [], existingDatabases: [] };
  if (!statSync(spec.path).isDirectory()) {
    throw new UsageError(`${spec.path} exists and is not a directory`, {
      hint: 'give a new or empty directory',
    });
  }
  if (spec.source) {
    return {
      occupied: [],
      actions:
        sourceType === 'files'
          ? [
              'write the backed-up files over the live ones at their original paths (files created since are kept)',
            ]
          : ['run the restore command against the live system'],
      existingDatabases: [],
    };
  }
  const entries = readdirSync(spec.path);
  if (entries.length === 0) return { occupied: [], actions: [], existingDatabases: [] };
  const action =
    sourceType === 'redis'
      ? entries.includes('dump.rdb')
        ? `move the existing ${join(spec.path, 'dump.rdb')} aside (renamed, not deleted), then write the backup's`
        : `write dump.rdb into ${spec.path}`
      : sourceType === 'command'
        ? `restore into ${spec.path}; a file of the same name is overwritten`
        : `restore into ${spec.path}; files of the same path are overwritten, others are kept`;
  return {
    occupied: [
      `directory ${spec.path} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'})`,
    ],
    actions: [action],
    existingDatabases: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Preparing a confirmed target
