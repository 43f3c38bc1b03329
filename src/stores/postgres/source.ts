/**
 * PostgreSQL, logically: one `pg_dump -Fc -Z0` per database plus the server's roles and
 * tablespaces (`pg_dumpall --globals-only`, restored first so ownership can be restored).
 *
 * Why custom format without compression: restic dedups and compresses on its own; a
 * compressed dump defeats the dedup (any change rewrites the rest of that table's zlib
 * stream). Measured here (pgbench scale 5 plus 300k rows of md5 text and jsonb, ~85 MB of
 * dump, into a restic repository v2 with compression), bytes the repository grew by:
 *
 * | next backup after           | -Fc (zlib)  | -Fc -Z0     | plain SQL   |
 * | --------------------------- | ----------- | ----------- | ----------- |
 * | nothing changed             | 0.6–1.3 MB  | 0.3–0.6 MB  | 0.6–2.4 MB  |
 * | 1 % more rows               | 2.7–3.4 MB  | 1.0–1.4 MB  | 1.2–3.3 MB  |
 * | 1 % of rows updated, spread | 3.4 MB      | 1.9 MB      | 1.6 MB      |
 *
 * (first backup ~14.4 MB for all three; ranges are two runs, restic's chunker varies.)
 * `-Fc -Z0` dedups at least as well as plain SQL, whose random `\restrict` key (pg_dump
 * 15.14+) changes its first and last chunk on every dump, and it keeps pg_restore's
 * selective (`-t`, `-n`) and parallel (`-j`) restore, which plain SQL loses. It relies on
 * the repository compressing (restic repository format 2).
 *
 * Compressing the stream with `zstd --rsyncable -1` before restic was measured too
 * (pgbench scale 50, 2026-12): restic's CPU fell from 2.7 s to 0.3 s but zstd took 1.2 s,
 * and a backup after 1 % more rows added 25 % of the first's bytes instead of 1.5 %:
 * restic's chunks (0.5 to 8 MiB) span too much compressed dump for changes to stay small.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { EnvironmentError, OperationError, RefusedError, UsageError } from '../../errors.js';
import type { Fingerprint } from '../fingerprint.js';
import { FINGERPRINT_METHOD, measurePostgres } from './fingerprint.js';
import { parsePgUrl, pgFailure, psqlRows, secretsOf, sqlLiteral, type PgConnection } from './psql.js';
import { exportSnapshot, type ExportedSnapshot } from './snapshot.js';
import type { BackupUnit, Capture, RestoreTarget, Source, KindConfig } from '../store.js';
import { consuming, firstLines, runTool } from '../../system/tool.js';

/** What the dump needs of the plan's source (its secrets already resolved by the caller). */
export type PostgresSourceConfig = Pick<KindConfig<'postgres'>, 'type' | 'url' | 'databases'>;

const globalsFile = 'postgres/globals.sql';
const dumpSuffix = '.dump';

export function postgresSource(config: PostgresSourceConfig): Source {
  const server = parsePgUrl(config.url);
  const maintenance = server.withDatabase(server.database ?? 'postgres');

  const databases = async (conn: PgConnection): Promise<string[]> =>
    config.databases ??
    (
      await psqlRows(
        conn,
        'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname',
      )
    ).map((row) => row[0] ?? '');

  return {
    type: 'postgres',

    /** Reachable, and dumpable: pg_dump refuses a server newer than itself. */
    async check() {
      const client = clientMajor((await runTool('pg_dump', ['--version'])).stdout);
      const [row] = await psqlRows(maintenance, "SELECT current_setting('server_version_num')::int / 10000");
      const serverMajor = Number(row?.[0]);
      if (client !== undefined && serverMajor > client) {
        throw new EnvironmentError(
          `pg_dump ${client} cannot dump PostgreSQL ${serverMajor} at ${server.host}:${server.port}`,
          {
            hint: `Install the client of that version: apt-get install postgresql-client-${serverMajor}`,
            details: { host: server.host, port: server.port, client, server: serverMajor },
          },
        );
      }
    },

    async units(): Promise<BackupUnit[]> {
      return unitsOf(await databases(maintenance), new Map());
    },

    /**
     * One exported snapshot per database, read by its pg_dump and by the fingerprint, so the
     * fingerprint is that of the dump even under writes, and says so (`consistent`). A server
     * that cannot export one (a standby before PostgreSQL 10...) is dumped and measured as
     * without a capture, and its fingerprint does not claim it.
     */
    async capture(): Promise<Capture> {
      const names = await databases(maintenance);
      const snapshots = new Map<string, ExportedSnapshot>();
      const close = async () => {
        await Promise.all([...snapshots.values()].map((s) => s.release()));
      };
      try {
        for (const database of names) {
          snapshots.set(database, await exportSnapshot(server.withDatabase(database)));
        }
      } catch {
        await close();
        snapshots.clear();
      }
      const ids = new Map([...snapshots].map(([database, s]) => [database, s.id]));
      return {
        units: unitsOf(names, ids),
        fingerprint: measurePostgres(server, names, (db) => db, {
          method: FINGERPRINT_METHOD,
          catalog: true,
          snapshots: ids,
        }),
        close,
      };
    },

    async fingerprint() {
      return measurePostgres(server, await databases(maintenance), (db) => db, {
        method: FINGERPRINT_METHOD,
        catalog: true,
      });
    },

    restoreUnit(filename: string, input: Readable, target: RestoreTarget) {
      return consuming(input, async () => {
        const conn = serverTarget(target);
        if (filename === globalsFile) return restoreGlobals(conn, input);
        const source = databaseOf(filename);
        const name = target.kind === 'server' ? (target.databases?.[source] ?? source) : source;
        await createDatabase(conn, name);
        await restoreDump(conn.withDatabase(name), input, target.kind === 'server' ? (target.jobs ?? 1) : 1);
      });
    },

    async fingerprintOf(target: RestoreTarget, recorded?: Fingerprint) {
      const conn = serverTarget(target);
      const mapping = target.kind === 'server' ? target.databases : undefined;
      const scope = mapping ? Object.keys(mapping) : (config.databases ?? (await databases(conn)));
      return measurePostgres(conn, scope, (db) => mapping?.[db] ?? db, {
        method: recorded === undefined ? FINGERPRINT_METHOD : recorded.method,
        catalog: recorded === undefined || recorded.categories !== undefined,
      });
    },
  };

  function unitsOf(names: string[], snapshots: Map<string, string>): BackupUnit[] {
    const units: BackupUnit[] = [
      {
        kind: 'stream',
        filename: globalsFile,
        description: 'roles and tablespaces',
        producer: {
          command: 'pg_dumpall',
          args: ['--globals-only', '-d', maintenance.uri],
          env: server.env,
        },
      },
    ];
    for (const database of names) {
      const snapshot = snapshots.get(database);
      units.push({
        kind: 'stream',
        filename: dumpFilename(database),
        description: `database ${database}`,
        producer: {
          command: 'pg_dump',
          args: [
            '-Fc',
            '-Z0',
            ...(snapshot ? [`--snapshot=${snapshot}`] : []),
            '-d',
            server.withDatabase(database).uri,
          ],
          env: server.env,
        },
      });
    }
    return units;
  }
}

function clientMajor(version: string): number | undefined {
  const m = /\(PostgreSQL\) (\d+)/.exec(version);
  return m ? Number(m[1]) : undefined;
}

export function dumpFilename(database: string): string {
  return `postgres/${encodeURIComponent(database)}${dumpSuffix}`;
}

function databaseOf(filename: string): string {
  const m = /^postgres\/(.+)\.dump$/.exec(filename);
  if (!m?.[1]) throw new UsageError(`${filename} is not a PostgreSQL dump of this source`);
  return decodeURIComponent(m[1]);
}

function serverTarget(target: RestoreTarget): PgConnection {
  if (target.kind !== 'server') {
    throw new UsageError('a PostgreSQL restore needs a server target (a url), not a directory');
  }
  const conn = parsePgUrl(target.url);
  return conn.withDatabase(conn.database ?? 'postgres');
}

/** The roles already there (at least the bootstrap superuser) fail with "already exists"; anything else is an error. */
async function restoreGlobals(conn: PgConnection, input: Readable): Promise<void> {
  const result = await runTool('psql', ['-X', '-q', '-d', conn.uri, '-f', '-'], {
    env: conn.env,
    stdin: input,
    secrets: secretsOf(conn),
  });
  if (result.code !== 0) throw pgFailure(conn, result, 'restore of roles');
  const errors = result.stderr
    .split('\n')
    .filter((line) => /ERROR:/.test(line) && !/already exists/.test(line));
  if (errors.length > 0) {
    throw new OperationError(
      `restoring roles into ${conn.host}:${conn.port} failed: ${firstLines(errors.join('\n'))}`,
    );
  }
}

/** A new, empty database; an existing one is never restored into. */
async function createDatabase(conn: PgConnection, name: string): Promise<void> {
  const exists = await psqlRows(conn, `SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(name)}`);
  if (exists.length > 0) {
    throw new RefusedError(
      `database "${name}" already exists on ${conn.host}:${conn.port}; a restore never writes into an existing database`,
      {
        hint: 'Restore under another name (a databases mapping such as { appdb: appdb_restored }), or drop it yourself first.',
        details: { host: conn.host, port: conn.port, database: name },
      },
    );
  }
  await psqlRows(conn, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
}

/**
 * pg_restore stops at the first error so that a broken backup fails loudly. With jobs > 1
 * the stream is spooled to a temp file first: parallel restore needs a seekable file.
 * Streaming with one job is the default: a dump written to a pipe has no data offsets, so
 * each parallel job reads the file through to find its table; on pgbench scale 50 a
 * spooled `-j 2` restore took 15 to 20 s where streaming took 10 to 11 s. Nor did a larger
 * maintenance_work_mem help there: the 5-million-row primary key built as fast from disk.
 */
export async function restoreDump(conn: PgConnection, input: Readable, jobs: number): Promise<void> {
  const args = ['--exit-on-error', '-d', conn.uri];
  let spool: string | undefined;
  try {
    if (jobs > 1) {
      spool = mkdtempSync(join(tmpdir(), 'lifeboat-pg-restore-'));
      const file = join(spool, 'db.dump');
      // Written by a tool, as the input may be a pipe held for one (pipe-handover.ts).
      const written = await runTool('sh', ['-c', 'exec cat > "$0"', file], { stdin: input });
      if (written.code !== 0)
        throw new OperationError(`spooling the dump to ${file} failed: ${firstLines(written.stderr)}`);
      args.push('-j', String(jobs), file);
    }
    const result = await runTool('pg_restore', args, {
      env: conn.env,
      stdin: spool ? undefined : input,
      secrets: secretsOf(conn),
    });
    if (result.code !== 0) throw pgFailure(conn, result, `restore of database ${conn.database}`);
  } finally {
    if (spool) rmSync(spool, { recursive: true, force: true });
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
