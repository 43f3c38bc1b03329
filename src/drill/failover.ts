/**
 * The failover drill, in a sandbox: a throwaway primary behind a simulated network, a
 * streaming standby (sync or async), pgbouncer in front, pgbench load and a writer of our
 * own through pgbouncer; then a fault, detected and failed over automatically, and the
 * numbers: RTO (fault to the first acknowledged write after it) split into detect, fence,
 * promote, route and reconnect; writes lost; and whether the old primary was fenced.
 * Everything it starts is stopped and removed whatever happens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError, UsageError } from '../errors.js';
import { startPostgres, type PostgresInstance } from '../protect/sandbox/postgres.js';
import { runToolOk } from '../protect/sources/tool.js';
import { superviseFailover, type SuperviseOutcome } from '../respond/failover/auto-failover.js';
import { switchLsn } from '../respond/failover/promote.js';
import { startPgbouncer, type PgbouncerInstance } from '../respond/failover/route-pgbouncer.js';
import { createStandby, pollUntil, type StandbyServer } from '../respond/failover/standby.js';
import { startSimulatedHost, type FaultKind, type SimulatedHost } from './failover-host.js';
import { checkFence, lostWalBytes, lostWrites } from './failover-measure.js';
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
  /** The host's lease TTL (see failover-host.ts). Default: 2000 ms. */
  leaseTtlMs?: number;
  /** On a crash, restart PostgreSQL in place before failing over. Default: false. */
  restartInPlace?: boolean;
  /** How long the writer runs before the fault. Default: 1500 ms. */
  warmupMs?: number;
  /** pgbench in the background. Default: true. */
  load?: boolean;
  /** Start the old data directory afterwards to compare its rows (sandbox only). Default: true. */
  inspectOldPrimary?: boolean;
  onProgress?(line: string): void;
}

export interface FailoverDrillResult {
  fault: FaultKind;
  sync: boolean;
  outcome: 'failed-over' | 'restarted';
  /** How the detector saw the fault: refused (host answers) or timeout (silence). */
  detected_as: string;
  rto_seconds: number;
  detect_seconds: number;
  fence_seconds: number;
  promote_seconds: number;
  route_seconds: number;
  /** From the declaration to the first step: looking at the standbys and the router, planning. */
  decide_seconds: number;
  /** From routing done to the writer's first acknowledged write (its reconnect). */
  reconnect_seconds: number;
  acknowledged_writes: number;
  lost_writes: number;
  lost_ids: number[];
  lost_window_seconds: number;
  lost_wal_bytes: number | null;
  fenced: boolean;
  fence: {
    method: string;
    acks_from_old_after_promotion: number;
    old_primary_stopped: boolean;
    old_rows_after_promotion: number | null;
    old_rows_before_promotion: number | null;
    /** Why the old primary's rows could not be inspected (then the two counts above are null). */
    inspection_error?: string;
    self_fenced_after_fault_seconds: number | null;
  };
  warnings: string[];
}

export async function runFailoverDrill(options: FailoverDrillOptions): Promise<FailoverDrillResult> {
  if (options.sandbox !== true)
    throw new UsageError('the failover drill runs in a sandbox only (sandbox: true)');
  const progress = options.onProgress ?? (() => undefined);
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
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
  cleanups: (() => Promise<unknown> | unknown)[],
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
  const host = await startSimulatedHost(primary, { leaseTtlMs: options.leaseTtlMs ?? 2000 });
  cleanups.push(() => host.close());
  await primary.psql('CREATE DATABASE drill');
  await primary.psqlScript(writesTableSql, 'drill');
  await runToolOk('pgbench', [
    '-i',
    '-q',
    '-s',
    '1',
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    'drill',
  ]);
  const standby = await createStandby(host.server, {
    sync: options.sync,
    upstream: { host: host.network.host, port: host.network.port },
    extraConf: { fsync: false },
  });
  cleanups.push(() => standby.stop());
  const bouncer = await startPgbouncer({
    database: 'drill',
    target: { name: host.server.name, ...host.server.endpoint },
    poolMode: 'transaction',
  });
  cleanups.push(() => bouncer.stop());
  const load =
    options.load === false
      ? undefined
      : startLoad({ host: '127.0.0.1', port: bouncer.port, database: 'drill' });
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
  cleanups: (() => Promise<unknown> | unknown)[],
  progress: (line: string) => void,
): Promise<FailoverDrillResult> {
  const { primary, host, standby, bouncer, writer } = topology;
  const supervisor = superviseFailover({
    topology: { primary: host.server, standbys: [standby.server], router: bouncer },
    watch: {
      intervalMs: options.pollMs ?? 200,
      timeoutMs: options.probeTimeoutMs ?? 400,
      failures: options.failures ?? 3,
    },
    decision: 'automatic',
    failover: options.sync ? { rpoBytes: 0 } : {},
    restartInPlace: options.restartInPlace ?? false,
  });
  cleanups.push(() => supervisor.stop());
  const warm = await writer.waitForAck(() => true, 30_000);
  if (!warm) throw new OperationError('the drill writer got no acknowledgement before the fault');
  // The failover's RPO check needs the detector to have seen the standby streaming.
  await pollUntil(
    async () => supervisor.lastSample()?.replicas.some((r) => r.state === 'streaming') === true,
    30_000,
    'the detector did not see the standby streaming',
  );
  await sleep(options.warmupMs ?? 1500);

  const faultAt = Date.now();
  host.inject(options.fault);
  progress(`${options.fault} injected after ${writer.acks.length} acknowledged writes`);
  // Past the deadline the failover may still fail later: that must not surface unhandled.
  supervisor.done.catch(() => undefined);
  const outcome = await withDeadline(supervisor.done, 90_000, 'the failover did not finish');
  if (!outcome) throw new OperationError('the detector stopped without declaring the primary lost');
  if (outcome.outcome === 'failed-over') cleanups.push(() => outcome.result.fenceWatch?.cancel());
  if (outcome.outcome === 'refused' || outcome.outcome === 'approval-needed')
    throw new OperationError(
      `the automatic failover did not run: ${outcome.outcome === 'refused' ? outcome.error.message : 'approval needed'}`,
    );
  // Restored service: a write acknowledged by the new primary, or after a restart in place by
  // the old one once it was declared lost (an answer in flight at the fault does not count).
  const restored =
    outcome.outcome === 'failed-over'
      ? (a: Ack) => a.at > faultAt && a.port === standby.instance.port
      : (a: Ack) => a.at > outcome.loss.declaredAt && a.port === primary.port;
  const firstAck = await writer.waitForAck(restored, 60_000);
  if (!firstAck) throw new OperationError('no write was acknowledged through pgbouncer after the failover');
  await sleep(300);
  await writer.stop();
  await topology.load?.stop();
  progress(`first write acknowledged ${((firstAck.at - faultAt) / 1000).toFixed(2)} s after the fault`);
  return measure(options, topology, outcome, faultAt, firstAck.at);
}

async function measure(
  options: FailoverDrillOptions,
  topology: Topology,
  outcome: Exclude<SuperviseOutcome, { outcome: 'refused' | 'approval-needed' }>,
  faultAt: number,
  firstAckAt: number,
): Promise<FailoverDrillResult> {
  const { primary, host, standby, writer } = topology;
  const detect = (outcome.loss.declaredAt - faultAt) / 1000;
  const rto = (firstAckAt - faultAt) / 1000;
  const base = {
    fault: options.fault,
    sync: options.sync,
    detected_as: outcome.loss.failure,
    rto_seconds: round(rto),
    detect_seconds: round(detect),
    acknowledged_writes: writer.acks.length,
  };
  if (outcome.outcome === 'restarted') {
    const lost = await lostWrites(writer.acks, primary.urlFor('drill'), faultAt);
    return {
      ...base,
      outcome: 'restarted',
      decide_seconds: 0,
      fence_seconds: 0,
      promote_seconds: 0,
      route_seconds: 0,
      reconnect_seconds: round(rto - detect - outcome.seconds),
      lost_writes: lost.count,
      lost_ids: lost.ids,
      lost_window_seconds: round(lost.windowSeconds),
      lost_wal_bytes: 0,
      fenced: true,
      fence: {
        method: 'none (restarted in place)',
        acks_from_old_after_promotion: 0,
        old_primary_stopped: false,
        old_rows_after_promotion: null,
        old_rows_before_promotion: null,
        self_fenced_after_fault_seconds: null,
      },
      warnings: [],
    };
  }
  const { result, plan } = outcome;
  const routedAt = result.steps.find((s) => s.kind === 'route')?.endedAt ?? result.promotion.promotedAt;
  if (options.fault !== 'crash') host.heal();
  if (result.fenceWatch) {
    await withDeadline(
      result.fenceWatch.done,
      30_000,
      'the old primary was not fenced on its return',
    ).finally(() => result.fenceWatch?.cancel());
  }
  if (options.fault === 'host') host.recoverDisk();
  const newUrl = standby.instance.urlFor('drill');
  const lost = await lostWrites(writer.acks, newUrl, faultAt);
  const walBytes = await lostWalBytes(host.server, await switchLsn(standby.server)).catch(() => null);
  const fence = await checkFence({
    acks: writer.acks,
    old: host.server,
    oldPort: primary.port,
    newPrimaryUrl: newUrl,
    promotionStartedAt: result.promotion.startedAt,
    inspect: options.inspectOldPrimary ?? true,
  });
  const method = plan.steps.some((s) => s.kind === 'stop-primary')
    ? 'router + stop'
    : plan.steps.some((s) => s.kind === 'wait-lease')
      ? 'router + lease'
      : 'router only';
  return {
    ...base,
    outcome: 'failed-over',
    decide_seconds: round((result.startedAt - outcome.loss.declaredAt) / 1000),
    fence_seconds: round(result.seconds.fence),
    promote_seconds: round(result.seconds.promote),
    route_seconds: round(result.seconds.route),
    reconnect_seconds: round((firstAckAt - routedAt) / 1000),
    lost_writes: lost.count,
    lost_ids: lost.ids,
    lost_window_seconds: round(lost.windowSeconds),
    lost_wal_bytes: walBytes,
    fenced: fence.fenced,
    fence: {
      method,
      acks_from_old_after_promotion: fence.acksFromOldAfterPromotion,
      old_primary_stopped: fence.oldPrimaryStopped,
      old_rows_after_promotion: fence.oldRowsAfterPromotion,
      old_rows_before_promotion: fence.oldRowsBeforePromotion,
      ...(fence.inspectionError === undefined ? {} : { inspection_error: fence.inspectionError }),
      self_fenced_after_fault_seconds:
        host.selfFencedAt === undefined ? null : round((host.selfFencedAt - faultAt) / 1000),
    },
    warnings: result.warnings,
  };
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new OperationError(`${what} within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
