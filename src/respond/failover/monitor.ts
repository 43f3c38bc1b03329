/**
 * The detector: polls the primary over a direct connection (not through the router, whose
 * own failures would look like the primary's) and declares it lost after a run of
 * consecutive failed probes. Each probe is also a replication sample, so that when the
 * primary is gone the failover still knows how far each standby was behind.
 *
 * Failures are classified by what the network said: `refused` (a reset or a refusal: the
 * host answers but PostgreSQL does not — a crash, restart in place may work) versus
 * `timeout` (no answer at all: the host is lost or the network is cut, which look the same
 * from here, and why fencing cannot rely on reaching the old primary).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { FailureClass } from './failover-plan.js';
import { dropClient, query } from '../../stores/postgres/sql.js';

export interface ReplicaSample {
  name: string;
  state: string;
  syncState: string;
  /** WAL the primary wrote that this standby has not flushed. */
  unflushedBytes: number;
  unreplayedBytes: number;
  /** pg_stat_replication.flush_lag in seconds; 0 when idle (caught up). */
  flushLagSeconds: number;
}

export interface PrimarySample {
  /** Epoch ms. */
  at: number;
  lsn: string;
  replicas: ReplicaSample[];
}

const sampleSql = `SELECT pg_current_wal_lsn()::text AS lsn, coalesce((SELECT json_agg(json_build_object(
    'name', application_name, 'state', state, 'syncState', sync_state,
    'unflushedBytes', pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn),
    'unreplayedBytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),
    'flushLagSeconds', coalesce(extract(epoch FROM flush_lag), 0))) FROM pg_stat_replication), '[]'::json) AS replicas`;

function toSample(row: Record<string, unknown> | undefined): PrimarySample {
  const replicas = ((row?.replicas ?? []) as Record<string, unknown>[]).map((r) => ({
    name: String(r.name),
    state: String(r.state),
    syncState: String(r.syncState),
    unflushedBytes: Math.max(0, Number(r.unflushedBytes ?? 0)),
    unreplayedBytes: Math.max(0, Number(r.unreplayedBytes ?? 0)),
    flushLagSeconds: Number(r.flushLagSeconds ?? 0),
  }));
  return { at: Date.now(), lsn: String(row?.lsn ?? ''), replicas };
}

/** One probe on a fresh connection; fails on a standby (pg_current_wal_lsn errors in recovery). */
export async function samplePrimary(url: string, timeoutMs = 2000): Promise<PrimarySample> {
  const [row] = await query(url, sampleSql, { timeoutMs });
  return toSample(row);
}

class ProbeTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof ProbeTimeout) return 'timeout';
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? '';
  if (/timeout/i.test(message) || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') return 'timeout';
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03'].includes(code) ||
    /Connection terminated|terminating connection|the database system is|server closed/i.test(message)
  )
    return 'refused';
  return 'error';
}

function lossClass(failures: ProbeFailure[]): FailureClass {
  if (failures.some((f) => f.failure === 'refused')) return 'refused';
  return failures.some((f) => f.failure === 'timeout') ? 'timeout' : 'error';
}

export interface WatchOptions {
  /** Direct url of the primary. */
  url: string;
  /** Time between probe starts. Default: 200 ms. */
  intervalMs?: number;
  /** A probe (connect included) that takes longer has failed. Default: 400 ms. */
  timeoutMs?: number;
  /** Consecutive failed probes that declare the primary lost. Default: 3. */
  failures?: number;
  /**
   * Also declare it lost when no probe has succeeded for this long, however few probes
   * failed (they may be slow to fail). Default: none (the failure count alone decides).
   */
  deadlineMs?: number;
  onSample?(sample: PrimarySample): void;
  onFailure?(failure: ProbeFailure): void;
}

export interface ProbeFailure {
  at: number;
  failure: FailureClass;
  message: string;
}

export interface PrimaryLoss {
  /** Epoch ms of the declaration. */
  declaredAt: number;
  /**
   * `refused` if any probe of the run was refused (the host answered at least once: a
   * crash), else `timeout` if any timed out, else `error`.
   */
  failure: FailureClass;
  message: string;
  lastOkAt: number | undefined;
  failures: ProbeFailure[];
  lastSample: PrimarySample | undefined;
}

export interface PrimaryWatch {
  /** Resolves when the primary is declared lost; undefined if the watch was stopped first. */
  readonly lost: Promise<PrimaryLoss | undefined>;
  lastSample(): PrimarySample | undefined;
  stop(): void;
}

export function watchPrimary(options: WatchOptions): PrimaryWatch {
  const intervalMs = options.intervalMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 400;
  const threshold = options.failures ?? 3;
  const controller = new AbortController();
  let last: PrimarySample | undefined;
  let lastOkAt: number | undefined;
  const failures: ProbeFailure[] = [];

  // A fresh connection for every probe, as pg_auto_failover does: a postmaster that hangs
  // (frozen, or out of memory) while its backends still run would keep answering on a
  // connection kept open, and never be declared lost. Connecting is part of the probe.
  const probe = async (): Promise<PrimarySample> => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProbeTimeout(timeoutMs)), timeoutMs);
    });
    const client = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: timeoutMs,
      // A backend that hangs mid-query is ended by the server too, not only given up on here.
      statement_timeout: timeoutMs,
    });
    client.on('error', () => undefined);
    let answered = false;
    try {
      const sample = await Promise.race([
        (async () => {
          await client.connect();
          const result = await client.query(sampleSql);
          return toSample(result.rows[0] as Record<string, unknown>);
        })(),
        expired,
      ]);
      answered = true;
      return sample;
    } finally {
      clearTimeout(timer);
      // A clean goodbye when it answered (no "connection reset" in the server's log five times
      // a second); a hard drop when it did not, since it may never answer the goodbye either.
      if (answered) client.end().catch(() => undefined);
      else dropClient(client);
    }
  };

  const lost = (async (): Promise<PrimaryLoss | undefined> => {
    while (!controller.signal.aborted) {
      const started = Date.now();
      try {
        last = await probe();
        lastOkAt = Date.now();
        failures.length = 0;
        options.onSample?.(last);
      } catch (error) {
        const failure: ProbeFailure = {
          at: Date.now(),
          failure: classifyFailure(error),
          message: (error as Error).message ?? String(error),
        };
        failures.push(failure);
        options.onFailure?.(failure);
        const overdue =
          options.deadlineMs !== undefined &&
          Date.now() - (lastOkAt ?? failures[0]!.at) >= options.deadlineMs;
        if ((failures.length >= threshold || overdue) && !controller.signal.aborted) {
          controller.abort();
          return {
            declaredAt: Date.now(),
            failure: lossClass(failures),
            message: failure.message,
            lastOkAt,
            failures: [...failures],
            lastSample: last,
          };
        }
      }
      const wait = started + intervalMs - Date.now();
      await sleep(Math.max(wait, 5), undefined, { signal: controller.signal }).catch(() => undefined);
    }
    return undefined;
  })();

  return { lost, lastSample: () => last, stop: () => controller.abort() };
}
