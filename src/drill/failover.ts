/**
 * The failover drill, in a sandbox: a throwaway primary behind a simulated network, a
 * streaming standby (sync or async), pgbouncer in front, pgbench load and a writer of our
 * own through pgbouncer; then a fault, detected and failed over automatically, and the
 * numbers: RTO (fault to the first acknowledged write after it) split into detect, fence,
 * promote, route and reconnect; writes lost; and whether the old primary was fenced.
 * Everything it starts is stopped and removed whatever happens.
 */
import { UsageError } from '../errors.js';
import { startPostgres, type PostgresInstance } from '../stores/postgres/sandbox.js';
import { parsePgUrl } from '../stores/postgres/psql.js';
import { runToolOk } from '../system/tool.js';
import {
  startPgbouncer,
  type PgbouncerInstance,
  type StartPgbouncerOptions,
} from '../respond/failover/route-pgbouncer.js';
import { createStandby, type StandbyServer } from '../respond/failover/standby.js';
import { runFault, withDeadline, type Cleanups } from './failover-fault.js';
import { startSimulatedHost, type FaultKind, type SimulatedHost } from './failover-host.js';
import { measureDrill, type FailoverDrillResult } from './failover-result.js';
import {
  startLoad,
  startWriter,
  writesTableSql,
  type Ack,
  type Load,
  type Writer,
} from './failover-writer.js';

export interface FailoverDrillOptions {
  /** Only the sandbox is supported: every server is a throwaway. */
  sandbox: true;
  /** A synchronous standby (no acknowledged write may be lost) or an async one. */
  sync: boolean;
  fault: FaultKind;
  /** Detector: time between probes. Default: 200 ms. */
  pollMs?: number;
  /** Detector: a probe slower than this failed. Default: 400 ms. */
  probeTimeoutMs?: number;
  /** Detector: consecutive failures that declare the primary lost. Default: 3. */
  failures?: number;
  /**
   * Detector: also declared lost once no probe has succeeded for this long, as
   * `replication.detect_after` does for `lifeboat watch`. Default: none (the failure count alone).
   */
  deadlineMs?: number;
  /** The host's lease TTL (see failover-host.ts). Default: 2000 ms. */
  leaseTtlMs?: number;
  /** On a crash, restart PostgreSQL in place before failing over. Default: false. */
  restartInPlace?: boolean;
  /** How long the writer runs before the fault. Default: 1500 ms. */
  warmupMs?: number;
  /**
   * pgbouncer's pool mode and extra `[pgbouncer]` lines (see startPgbouncer), e.g. its stock
   * settings to measure what a user gets without tuning it. Default: transaction pooling with
   * route-pgbouncer.ts's failover settings.
   */
  pgbouncer?: Pick<StartPgbouncerOptions, 'poolMode' | 'extraIni'>;
  /** pgbench in the background. Default: true. */
  load?: boolean;
  /** Start the old data directory afterwards to compare its rows (sandbox only). Default: true. */
  inspectOldPrimary?: boolean;
  onProgress?(line: string): void;
}

export { median, type FailoverDrillResult } from './failover-result.js';

export async function runFailoverDrill(options: FailoverDrillOptions): Promise<FailoverDrillResult> {
  if (options.sandbox !== true)
    throw new UsageError('the failover drill runs in a sandbox only (sandbox: true)');
  const progress = options.onProgress ?? (() => undefined);
  const cleanups: Cleanups = [];
  try {
    const setup = await startTopology(options, cleanups, progress);
    return await exercise(options, setup, cleanups, progress);
  } finally {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => undefined);
  }
}

interface Topology {
  primary: PostgresInstance;
  host: SimulatedHost;
  standby: StandbyServer;
  bouncer: PgbouncerInstance;
  writer: Writer;
  load: Load | undefined;
}

async function startTopology(
  options: FailoverDrillOptions,
  cleanups: Cleanups,
  progress: (line: string) => void,
): Promise<Topology> {
  // fsync off: the faults kill processes, whose writes the kernel keeps, so an acknowledged
  // write survives them either way; fsync would only slow the drill on a shared disk.
  // synchronous_commit stays on: it is what makes an acknowledgement mean something.
  const primary = await startPostgres({
    extraConf: {
      wal_log_hints: true,
      wal_keep_size: '128MB',
      fsync: false,
      wal_sender_timeout: '5s',
      max_wal_senders: 5,
    },
  });
  cleanups.push(() => primary.stop());
  // The standby, a base backup of the primary, and pgbouncer share the primary's password.
  const password = parsePgUrl(primary.url).password!;
  const host = await startSimulatedHost(primary, { leaseTtlMs: options.leaseTtlMs ?? 2000 });
  cleanups.push(() => host.close());
  await primary.psql('CREATE DATABASE drill');
  await primary.psqlScript(writesTableSql(), 'drill');
  await runToolOk(
    'pgbench',
    ['-i', '-q', '-s', '1', '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', 'drill'],
    { env: { PGPASSWORD: password }, secrets: [password] },
  );
  const standby = await createStandby(host.server, {
    sync: options.sync,
    upstream: { host: host.network.host, port: host.network.port },
    extraConf: { fsync: false },
  });
  cleanups.push(() => standby.stop());
  const bouncer = await startPgbouncer({
    database: 'drill',
    target: { name: host.server.name, ...host.server.endpoint },
    poolMode: options.pgbouncer?.poolMode ?? 'transaction',
    ...(options.pgbouncer?.extraIni ? { extraIni: options.pgbouncer.extraIni } : {}),
    password,
  });
  cleanups.push(() => bouncer.stop());
  const load =
    options.load === false
      ? undefined
      : startLoad({ host: '127.0.0.1', port: bouncer.port, database: 'drill', password });
  if (load) cleanups.push(() => load.stop());
  const writer = startWriter(bouncer.url);
  cleanups.push(() => writer.stop());
  progress(
    `primary :${primary.port} (via network :${host.network.port}), ${options.sync ? 'sync' : 'async'} standby :${standby.instance.port}, pgbouncer :${bouncer.port}`,
  );
  return { primary, host, standby, bouncer, writer, load };
}

async function exercise(
  options: FailoverDrillOptions,
  topology: Topology,
  cleanups: Cleanups,
  progress: (line: string) => void,
): Promise<FailoverDrillResult> {
  const { primary, host, standby, bouncer, writer } = topology;
  const fromOld = (a: Ack) => a.port === primary.port;
  const run = await runFault({
    topology: { primary: host.server, standbys: [standby.server], router: bouncer },
    writer,
    watch: {
      intervalMs: options.pollMs ?? 200,
      timeoutMs: options.probeTimeoutMs ?? 400,
      failures: options.failures ?? 3,
      ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
    },
    failover: options.sync ? { rpoBytes: 0 } : {},
    restartInPlace: options.restartInPlace ?? false,
    warmupMs: options.warmupMs ?? 1500,
    fault: options.fault,
    inject: () => host.inject(options.fault),
    fromNew: (a) => a.port === standby.instance.port,
    fromOld,
    cleanups,
    progress,
  });
  await topology.load?.stop();
  const { outcome } = run;
  if (outcome.outcome === 'failed-over') {
    if (options.fault !== 'crash') host.heal();
    const { fenceWatch } = outcome.result;
    if (fenceWatch)
      await withDeadline(fenceWatch.done, 30_000, 'the old primary was not fenced on its return').finally(
        () => fenceWatch.cancel(),
      );
    if (options.fault === 'host') host.recoverDisk();
  }
  return measureDrill({
    fault: options.fault,
    sync: options.sync,
    run,
    acks: writer.acks,
    old: host.server,
    newPrimary: standby.server,
    oldPrimaryUrl: primary.urlFor('drill'),
    newPrimaryUrl: standby.instance.urlFor('drill'),
    fromOld,
    inspectOldPrimary: options.inspectOldPrimary ?? true,
    ...(host.selfFencedAt === undefined ? {} : { selfFencedAt: host.selfFencedAt }),
  });
}
