/**
 * MySQL/MariaDB, logically: one `mariadb-dump --single-transaction` per database (plain SQL,
 * which restic dedups and compresses well), restored with the `mariadb` client into a new
 * database. One dump per database, like PostgreSQL, so a database can be restored alone or
 * under another name; each dump is consistent in itself, not across databases.
 */
import type { Readable } from 'node:stream';
import { RefusedError, UsageError } from '../../errors.js';
import { newFingerprint, type Fingerprint } from '../fingerprint.js';
import {
  mysqlFailure,
  mysqlIdent,
  mysqlLiteral,
  mysqlRows,
  parseMysqlUrl,
  type MysqlConnection,
} from './client.js';
import type { BackupUnit, RestoreTarget, Source, KindConfig } from '../store.js';
import { consuming, runTool } from '../../system/tool.js';

/** What the dump needs of the plan's source (its secrets already resolved by the caller). */
export type MysqlSourceConfig = Pick<KindConfig<'mysql'>, 'type' | 'url' | 'databases'>;

const systemDatabases = ['mysql', 'information_schema', 'performance_schema', 'sys'];

export function mysqlSource(config: MysqlSourceConfig): Source {
  const server = parseMysqlUrl(config.url);

  const databases = async (conn: MysqlConnection): Promise<string[]> =>
    config.databases ??
    (
      await mysqlRows(
        conn,
        `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (${systemDatabases.map(mysqlLiteral).join(', ')}) ORDER BY 1`,
      )
    ).map((row) => row[0] ?? '');

  return {
    type: 'mysql',

    async check() {
      await runTool('mariadb-dump', ['--version']);
      await mysqlRows(server, 'SELECT 1');
    },

    async units(): Promise<BackupUnit[]> {
      return (await databases(server)).map((database) => ({
        kind: 'stream',
        filename: dumpFilename(database),
        description: `database ${database}`,
        producer: {
          command: 'mariadb-dump',
          args: [
            ...server.args,
            '--single-transaction',
            '--routines',
            '--triggers',
            '--events',
            '--hex-blob',
            '--default-character-set=utf8mb4',
            // No "Dump completed on <date>" line: an unchanged database gives an identical file.
            '--skip-dump-date',
            '--max-allowed-packet=1G',
            database,
          ],
          env: server.env,
        },
      }));
    },

    async fingerprint() {
      return measure(server, await databases(server), (db) => db);
    },

    restoreUnit(filename: string, input: Readable, target: RestoreTarget) {
      return consuming(input, async () => {
        const conn = serverTarget(target);
        const source = databaseOf(filename);
        const name = target.kind === 'server' ? (target.databases?.[source] ?? source) : source;
        await createDatabase(conn, name);
        await loadDump(conn, name, input);
      });
    },

    async fingerprintOf(target: RestoreTarget) {
      const conn = serverTarget(target);
      const mapping = target.kind === 'server' ? target.databases : undefined;
      const scope = mapping ? Object.keys(mapping) : (config.databases ?? (await databases(conn)));
      return measure(conn, scope, (db) => mapping?.[db] ?? db);
    },
  };
}

/**
 * Feeds one database's dump into `database`, which exists. The dump names no database (it is
 * taken without `--databases`), so everything it creates lands in `database`.
 */
export async function loadDump(conn: MysqlConnection, database: string, input: Readable): Promise<void> {
  const result = await runTool(
    'mariadb',
    [...conn.args, '--max-allowed-packet=1G', `--database=${database}`],
    {
      env: conn.env,
      stdin: input,
      secrets: conn.password ? [conn.password] : [],
    },
  );
  if (result.code !== 0) throw mysqlFailure(conn, result, `restore of database ${database}`);
}

export function dumpFilename(database: string): string {
  return `mysql/${encodeURIComponent(database)}.sql`;
}

function databaseOf(filename: string): string {
  const m = /^mysql\/(.+)\.sql$/.exec(filename);
  if (!m?.[1]) throw new UsageError(`${filename} is not a MySQL dump of this source`);
  return decodeURIComponent(m[1]);
}

function serverTarget(target: RestoreTarget): MysqlConnection {
  if (target.kind !== 'server')
    throw new UsageError('a MySQL restore needs a server target (a url), not a directory');
  return parseMysqlUrl(target.url);
}

async function createDatabase(conn: MysqlConnection, name: string): Promise<void> {
  const exists = await mysqlRows(
    conn,
    `SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${mysqlLiteral(name)}`,
  );
  if (exists.length > 0) {
    throw new RefusedError(
      `database "${name}" already exists on ${conn.host}:${conn.port}; a restore never writes into an existing database`,
      {
        hint: 'Restore under another name (a databases mapping such as { shop: shop_restored }), or drop it yourself first.',
        details: { host: conn.host, port: conn.port, database: name },
      },
    );
  }
  await mysqlRows(conn, `CREATE DATABASE ${mysqlIdent(name)}`);
}

/**
 * Per base table: exact row count and an order-independent checksum, the sum of the first
 * 64 bits of MD5 over the row's QUOTE()d columns (NULL and 'NULL' differ). Chosen over
 * CHECKSUM TABLE, whose result depends on the row format and server version. Reads every
 * row once; on a large live source that is a full read, so it is meant for sources at rest
 * and restored copies. Counts of views, routines, triggers and events are recorded too
 * (they prove `--routines --triggers --events` did their job).
 */
async function measure(
  server: MysqlConnection,
  scope: string[],
  restoredName: (db: string) => string,
): Promise<Fingerprint> {
  const fingerprint = newFingerprint('mysql');
  for (const database of scope) {
    const db = restoredName(database);
    const columns = await mysqlRows(
      server,
      `SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
       WHERE c.TABLE_SCHEMA = ${mysqlLiteral(db)} AND t.TABLE_TYPE = 'BASE TABLE'
       ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`,
    );
    const tables = new Map<string, string[]>();
    for (const [table = '', column = ''] of columns)
      tables.set(table, [...(tables.get(table) ?? []), column]);
    const selects = [...tables].map(([table, cols]) => {
      const row = `CONCAT_WS(',', ${cols.map((c) => `QUOTE(${mysqlIdent(c)})`).join(', ')})`;
      return `SELECT ${mysqlLiteral(table)}, COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(MD5(${row}), 16), 16, 10) AS UNSIGNED)), 0) FROM ${mysqlIdent(db)}.${mysqlIdent(table)}`;
    });
    for (let i = 0; i < selects.length; i += 100) {
      const sql = `SET NAMES utf8mb4; SET time_zone = '+00:00';\n${selects.slice(i, i + 100).join('\nUNION ALL\n')};`;
      for (const [table, rows, checksum] of await mysqlRows(server, sql)) {
        fingerprint.items[`${database}/table/${table}`] = { rows: Number(rows), checksum: checksum ?? '0' };
      }
    }
    const literal = mysqlLiteral(db);
    const [objects] = await mysqlRows(
      server,
      `SELECT
         (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${literal}),
         (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${literal}),
         (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${literal}),
         (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${literal})`,
    );
    const [views, routines, triggers, events] = (objects ?? []).map(Number);
    fingerprint.items[`${database}/objects`] = {
      views: views ?? 0,
      routines: routines ?? 0,
      triggers: triggers ?? 0,
      events: events ?? 0,
    };
  }
  return fingerprint;
}
