/**
 * Streaming standbys: a base backup of the primary taken with `pg_basebackup -R -X stream`,
 * a physical replication slot so the primary keeps the WAL the standby still needs, and a
 * `primary_conninfo` whose application_name makes it eligible as a synchronous standby. And
 * the lag a standby runs behind, in bytes and seconds.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError, OperationError, UsageError } from '../../errors.js';
import {
  makeTempDir,
  osUser,
  recordInstance,
  registerInstance,
  removeDir,
  runningAsRoot,
} from '../../system/instance.js';
import { startPostgres, type PostgresInstance } from '../../stores/postgres/sandbox.js';
import { firstLines, type RunResult } from '../../system/tool.js';
import { pollUntil } from '../../system/poll.js';
import {
  conninfoPassword,
  managedFromInstance,
  passwordEnv,
  type Endpoint,
  type ManagedServer,
} from './server.js';
import { query } from '../../stores/postgres/sql.js';

/**
 * Whether a dataset's standby is synchronous: `replication.mode` when the plan says, else
 * sync exactly when the dataset's RPO is 0 (no acknowledged write may be lost).
 */
export function standbyIsSync(
  replication: { mode?: 'sync' | 'async' | undefined },
  rpoSeconds: number | undefined,
): boolean {
  return replication.mode ? replication.mode === 'sync' : rpoSeconds === 0;
}

export interface CreateStandbyOptions {
  /** application_name and replication slot name: [a-z0-9_]. Default: `standby1`. */
  name?: string;
  /**
   * Synchronous: the primary acknowledges a commit only once this standby has flushed it
   * (`synchronous_standby_names`), so failing over to it loses no acknowledged write. A plan's
   * RPO of 0 means sync. Default: false (async).
   */
  sync?: boolean;
  /** TCP port of the standby. Default: a free port. */
  port?: number;
  /**
   * Where the standby's walreceiver connects, when it must take another path than Lifeboat
   * (the drill's simulated network). Default: the primary's endpoint.
   */
  upstream?: Endpoint;
  /** Settings for the standby (e.g. `{ fsync: false }`). Default: none. */
  extraConf?: Record<string, string | number | boolean>;
  /** How long to wait for the standby to stream. Default: 60 s. */
  timeoutMs?: number;
}

export interface StandbyServer {
  readonly name: string;
  readonly sync: boolean;
  readonly instance: PostgresInstance;
  readonly server: ManagedServer;
  /** Stops the standby and removes its data directory. Safe to call more than once. */
  stop(): Promise<void>;
}

/** Builds a streaming standby of `primary` (a throwaway instance on this machine) and starts it. */
export async function createStandby(
  primary: ManagedServer,
  options: CreateStandbyOptions = {},
): Promise<StandbyServer> {
  const name = options.name ?? 'standby1';
  if (!/^[a-z0-9_]{1,63}$/.test(name))
    throw new UsageError(`standby name "${name}" must be 1 to 63 of [a-z0-9_]`, {
      hint: 'It becomes the replication slot name and application_name.',
    });
  const owner = runningAsRoot() ? osUser('postgres') : undefined;
  const baseDir = makeTempDir('standby', owner);
  const dataDir = join(baseDir, 'data');
  // Its server has a record of its own; this one removes the data if the owner is killed.
  const unregister = registerInstance(
    { stop: async () => removeDir(baseDir), killSync: () => removeDir(baseDir) },
    recordInstance({ kind: 'standby data', tempDir: baseDir, dataDir, stopSignal: 'SIGQUIT' }),
  );
  const source = new URL(primary.url);
  let instance: PostgresInstance | undefined;
  try {
    await takeBaseBackup(primary, name, dataDir, (args) =>
      primary.runBin('pg_basebackup', [...args, '--no-sync'], {
        timeoutMs: options.timeoutMs ?? 120_000,
        env: passwordEnv(primary.url),
      }),
    );
    const upstream = options.upstream ?? primary.endpoint;
    writeStandbySettings(dataDir, {
      primary_conninfo: `host=${upstream.host} port=${upstream.port} user=${decodeURIComponent(source.username || 'postgres')}${conninfoPassword(primary.url)} application_name=${name} connect_timeout=2`,
      primary_slot_name: name,
    });
    instance = await startPostgres({
      dataDir,
      // A base backup of the primary: the same roles, the same password.
      ...(source.password ? { password: decodeURIComponent(source.password) } : {}),
      ...(options.port === undefined ? {} : { port: options.port }),
      extraConf: {
        hot_standby: true,
        // What pg_rewind needs of a server that was primary (this one, once promoted): hint
        // bits in the WAL, and the WAL back to the last checkpoint before a fork.
        wal_log_hints: true,
        wal_keep_size: '128MB',
        // Fail over fast: notice a dead primary within seconds, not the default minute.
        wal_receiver_timeout: '5s',
        wal_retrieve_retry_interval: '200ms',
        ...options.extraConf,
      },
    });
    const started = instance;
    const server = managedFromInstance(started, { name });
    await waitForStreaming(primary, name, options.timeoutMs ?? 60_000);
    if (options.sync) await makeSynchronous(primary, name, options.timeoutMs ?? 60_000);
    let stopped: Promise<void> | undefined;
    return {
      name,
      sync: options.sync ?? false,
      instance: started,
      server,
      stop: () =>
        (stopped ??= (async () => {
          try {
            await started.stop();
          } finally {
            removeDir(baseDir);
            unregister();
          }
        })()),
    };
  } catch (error) {
    await instance?.stop().catch(() => undefined);
    await query(primary.url, 'SELECT pg_drop_replication_slot($1)', {
      params: [name],
      timeoutMs: 5000,
    }).catch(() => undefined);
    removeDir(baseDir);
    unregister();
    throw error;
  }
}

/**
 * The first half of every standby: a physical replication slot named after it (so the
 * primary keeps the WAL it still needs), then a base backup streamed from the primary with
 * `-R` (standby.signal and a primary_conninfo). `run` runs pg_basebackup with these arguments.
 */
export async function takeBaseBackup(
  primary: ManagedServer,
  name: string,
  dataDir: string,
  run: (args: string[]) => Promise<RunResult>,
): Promise<void> {
  const source = new URL(primary.url);
  await query(
    primary.url,
    `SELECT pg_create_physical_replication_slot($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`,
    { params: [name] },
  );
  const backup = await run([
    '-d',
    `host=${source.hostname} port=${source.port || 5432} user=${decodeURIComponent(source.username || 'postgres')}`,
    '-D',
    dataDir,
    '-X',
    'stream',
    '-S',
    name,
    '-R',
    '--checkpoint=fast',
  ]);
  if (backup.code !== 0)
    throw new EnvironmentError(`pg_basebackup of ${primary.name} failed: ${firstLines(backup.stderr)}`, {
      hint: 'The primary must allow replication connections (pg_hba.conf, max_wal_senders) from here.',
    });
}

/**
 * Sets (or replaces) recovery settings in postgresql.auto.conf, which wins over every other
 * file: the last line for a key counts, so appending is enough; `-R` wrote its own before.
 * A copied `synchronous_standby_names` is blanked so that the standby, once promoted, does
 * not wait for a synchronous standby it does not have.
 */
export function writeStandbySettings(dataDir: string, settings: Record<string, string>): void {
  const auto = join(dataDir, 'postgresql.auto.conf');
  const lines = Object.entries({ synchronous_standby_names: '', ...settings }).map(
    ([key, value]) => `${key} = '${value.replace(/'/g, "''")}'`,
  );
  appendFileSync(auto, `${lines.join('\n')}\n`);
  const signal = join(dataDir, 'standby.signal');
  if (!existsSync(signal)) writeFileSync(signal, '');
}

/** Makes `name` the primary's synchronous standby and waits until it is in sync. */
export async function makeSynchronous(
  primary: ManagedServer,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  await query(primary.url, `ALTER SYSTEM SET synchronous_standby_names = '"${name}"'`);
  await query(primary.url, 'SELECT pg_reload_conf()');
  await pollUntil(
    async () =>
      (
        await query(
          primary.url,
          `SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND sync_state = 'sync'`,
          {
            params: [name],
          },
        )
      ).length > 0,
    timeoutMs,
    `${name} did not become the synchronous standby of ${primary.name}`,
  );
}

/** Waits until the primary streams to `name`. */
export async function waitForStreaming(
  primary: ManagedServer,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  await pollUntil(
    async () =>
      (
        await query(
          primary.url,
          `SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'`,
          {
            params: [name],
          },
        )
      ).length > 0,
    timeoutMs,
    `${name} did not start streaming from ${primary.name}`,
  );
}

export interface StandbyLag {
  /** Bytes of WAL the primary has written that the standby has not replayed. */
  bytes: number;
  /** Bytes not yet flushed on the standby: what a failover right now would lose. */
  unflushedBytes: number;
  /** Seconds since the last replayed transaction, 0 when the standby has replayed all it received. */
  seconds: number;
  /** `sync`, `async`, `potential` or `quorum` (pg_stat_replication.sync_state). */
  syncState: string;
  primaryLsn: string;
  replayLsn: string;
}

/**
 * How far `standby` runs behind `primary`. Bytes come from the primary's pg_stat_replication;
 * seconds from the standby's own replay clock (`now() - pg_last_xact_replay_timestamp()`).
 */
export async function standbyLag(primary: ManagedServer, standby: ManagedServer): Promise<StandbyLag> {
  const [rows, standbyRows] = await Promise.all([
    query(
      primary.url,
      `SELECT pg_current_wal_lsn()::text AS primary_lsn, replay_lsn::text AS replay_lsn, sync_state,
              pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS bytes,
              pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::float8 AS unflushed
         FROM pg_stat_replication WHERE application_name = $1 ORDER BY backend_start DESC LIMIT 1`,
      { params: [standby.name] },
    ),
    query(
      standby.url,
      `SELECT pg_is_in_recovery() AS recovering,
              CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                   ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8 AS seconds`,
    ),
  ]);
  const row = rows[0];
  if (!row)
    throw new OperationError(`${standby.name} is not streaming from ${primary.name}`, {
      hint: `Check the standby's log and its primary_conninfo; the primary's pg_stat_replication has no row for application_name ${standby.name}.`,
    });
  if (standbyRows[0]?.recovering !== true)
    throw new OperationError(`${standby.name} is not in recovery: it is not a standby`);
  return {
    bytes: Math.max(0, Number(row.bytes ?? 0)),
    unflushedBytes: Math.max(0, Number(row.unflushed ?? 0)),
    seconds: Math.max(0, Number(standbyRows[0]?.seconds ?? 0)),
    syncState: String(row.sync_state),
    primaryLsn: String(row.primary_lsn),
    replayLsn: String(row.replay_lsn),
  };
}

/** The recovery settings a data directory will start with, for messages and tests. */
export function readAutoConf(dataDir: string): string {
  return readFileSync(join(dataDir, 'postgresql.auto.conf'), 'utf8');
}
