/**
 * `lifeboat run`: a foreground scheduler. Every tick it asks `dueWork` (pure: plan, state
 * records, now) what is due, and starts it:
 *
 * - a dataset's BACKUP, when its newest complete run started `backup.every` ago or more
 *   (default: its RPO, else daily); for cadences of a day or more with `backup.at: HH:MM`,
 *   at the first HH:MM (UTC) after one day before that moment, so a daily backup stays at
 *   its hour even if one run started late or was run by hand. No run yet: due at once,
 *   whatever `at` says (the RPO is already breached).
 * - a dataset's VERIFY, when it has a recovery point and no verification passed within
 *   `verify.every` (default daily).
 * - a repository's PRUNE, daily, once it holds a recovery point.
 *
 * After a failure a piece of work waits before it is retried: a quarter of its cadence,
 * between 1 minute and 1 hour, so a broken source is neither hammered every tick nor left
 * alone for a day.
 *
 * One piece of work per repository at a time: every restic command on a repository is
 * serialised anyway (restic/lock.ts), so running two at once would gain nothing and could
 * time out on that lock; it also means a dataset's backup is never queued twice. Work on
 * different repositories runs side by side. On stop (SIGINT/SIGTERM via `signal`) no new
 * work starts; a running backup is aborted (restic is interrupted, its lock removed, the run
 * recorded as failed: cancelled); a verify or prune in progress finishes.
 */
import { coerceError, LifeboatError } from '../errors.js';
import { formatDuration } from '../plan/duration.js';
import type { Plan } from '../plan/schema.js';
import type { StateStore } from '../state/store.js';
import { planBackup, runBackup } from './backup.js';
import { describeError } from '../errors.js';
import type { ProtectContext } from './context.js';
import { applyPrune, datasetRepository, planPrune } from './prune.js';
import {
  backupInterval,
  formatAge,
  protection,
  readStatusRecords,
  verifyInterval,
  type StatusRecords,
} from './status.js';
import { runVerify } from './verify.js';
import { shortRecoveryPointId } from './recovery-points.js';

// ---------------------------------------------------------------------------------------------
// What is due (pure)

export type WorkKind = 'backup' | 'verify' | 'prune';

export interface WorkItem {
  kind: WorkKind;
  /** `backup:<dataset>`, `verify:<dataset>`, `prune:<repository>`. */
  key: string;
  dataset?: string;
  repository: string;
  /** Why it is due, for the log. */
  reason: string;
}

export interface ScheduleRecords {
  datasets: StatusRecords;
  /** Per repository, from the audit log: when prune last succeeded, and last failed. */
  prunes: Record<string, { lastOk?: string; lastFailed?: string }>;
  /**
   * Failures the scheduler saw that the state store does not hold (a lock held by another
   * process, a state store that could not be written), by work key, as ISO times.
   */
  failures?: Record<string, string>;
}

const DAY = 86_400;
/** How often prune runs. */
export const PRUNE_INTERVAL = DAY;

/** How long a failed piece of work waits before it is tried again. */
export function retryDelay(intervalSeconds: number): number {
  return Math.min(Math.max(intervalSeconds / 4, 60), 3600);
}

/**
 * The first `HH:MM` (UTC) after `from`. With `at`, a run is due at
 * `slotAfter(lastStart + every − 1 day)`: a daily backup that started at 02:00 (or 02:40) is
 * next due at 02:00 the next day (not the day after), and one run by hand at 15:00 does not
 * move the schedule off 02:00.
 */
export function slotAfter(from: Date, at: string): Date {
  const [hours, minutes] = at.split(':').map(Number) as [number, number];
  const slot = new Date(
    Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate(), hours, minutes),
  );
  if (slot.getTime() <= from.getTime()) slot.setUTCDate(slot.getUTCDate() + 1);
  return slot;
}

/** When the next backup of a dataset falls due, given when its newest complete run started. */
export function nextBackupAt(plan: Plan, datasetId: string, lastStart: Date): Date {
  const every = backupInterval(plan, datasetId);
  const at = plan.datasets?.[datasetId]?.backup?.at;
  const plain = new Date(lastStart.getTime() + every * 1000);
  if (!at || every < DAY) return plain;
  return slotAfter(new Date(plain.getTime() - DAY * 1000), at);
}

/** Everything due at `now`, backups first, then verifications, then prunes. No I/O. */
export function dueWork(plan: Plan, records: ScheduleRecords, now: Date): WorkItem[] {
  const backups: WorkItem[] = [];
  const verifies: WorkItem[] = [];
  const prunes: WorkItem[] = [];
  const withRecoveryPoint = new Set<string>();
  const since = (iso: string) => (now.getTime() - Date.parse(iso)) / 1000;
  const held = (key: string, interval: number, recorded: string | undefined) => {
    const times = [recorded, records.failures?.[key]].filter((t): t is string => t !== undefined);
    return times.some((t) => since(t) < retryDelay(interval));
  };

  for (const id of Object.keys(plan.datasets ?? {})) {
    if (!protection(plan, id).protected) continue;
    const r = records.datasets[id];
    const repository = datasetRepository(plan, id);
    const complete = r?.newestComplete;
    if (complete) withRecoveryPoint.add(repository);

    // Backup
    const every = backupInterval(plan, id);
    const failed = r?.newestFailed;
    const failedAfterComplete =
      failed && (!complete || Date.parse(failed.startedAt) > Date.parse(complete.startedAt))
        ? (failed.finishedAt ?? failed.startedAt)
        : undefined;
    const backupKey = `backup:${id}`;
    if (!r?.backupRunning && !held(backupKey, every, failedAfterComplete)) {
      if (!complete) {
        backups.push({
          kind: 'backup',
          key: backupKey,
          dataset: id,
          repository,
          reason: 'no recovery point yet',
        });
      } else {
        const next = nextBackupAt(plan, id, new Date(complete.startedAt));
        if (next.getTime() <= now.getTime()) {
          const at = plan.datasets?.[id]?.backup?.at;
          backups.push({
            kind: 'backup',
            key: backupKey,
            dataset: id,
            repository,
            reason:
              `newest recovery point is ${formatAge(since(complete.startedAt))} old, every ${formatDuration(every)}` +
              (at && every >= DAY ? ` at ${at} UTC` : ''),
          });
        }
      }
    }

    // Verify
    const verifyEvery = verifyInterval(plan, id);
    const ok = r?.latestOkVerification;
    const last = r?.latestVerification;
    const verifyKey = `verify:${id}`;
    const lastFailed = last && !last.ok ? last.finishedAt : undefined;
    if (
      complete &&
      !held(verifyKey, verifyEvery, lastFailed) &&
      (!ok || since(ok.finishedAt) >= verifyEvery)
    ) {
      verifies.push({
        kind: 'verify',
        key: verifyKey,
        dataset: id,
        repository,
        reason: ok
          ? `last verified ${formatAge(since(ok.finishedAt))} ago, every ${formatDuration(verifyEvery)}`
          : 'never verified',
      });
    }
  }

  for (const repository of withRecoveryPoint) {
    const p = records.prunes[repository] ?? {};
    const key = `prune:${repository}`;
    const failedLast = p.lastFailed && (!p.lastOk || p.lastFailed > p.lastOk) ? p.lastFailed : undefined;
    if (held(key, PRUNE_INTERVAL, failedLast)) continue;
    if (p.lastOk && since(p.lastOk) < PRUNE_INTERVAL) continue;
    prunes.push({
      kind: 'prune',
      key,
      repository,
      reason: p.lastOk ? `last pruned ${formatAge(since(p.lastOk))} ago, daily` : 'never pruned',
    });
  }
  return [...backups, ...verifies, ...prunes];
}

// ---------------------------------------------------------------------------------------------
// Running it

export interface SchedulerLogEntry {
  at: string;
  event: 'scheduler-start' | 'start' | 'ok' | 'failed' | 'error' | 'stopping' | 'scheduler-stop';
  kind?: WorkKind;
  key?: string;
  dataset?: string;
  repository?: string;
  /** Why the work was due (`start`). */
  reason?: string;
  /** What happened (`ok`, `failed`, `error`, `stopping`). */
  message?: string;
  durationMs?: number;
}

export interface WorkOutcome {
  ok: boolean;
  message: string;
}

/** How each kind of work is done; tests replace them. */
export interface Executors {
  backup(context: ProtectContext, dataset: string, signal: AbortSignal, actor: string): Promise<WorkOutcome>;
  verify(context: ProtectContext, dataset: string, signal: AbortSignal, actor: string): Promise<WorkOutcome>;
  prune(
    context: ProtectContext,
    repository: string,
    signal: AbortSignal,
    actor: string,
  ): Promise<WorkOutcome>;
}

export interface SchedulerOptions {
  /** Run what is due now, each piece at most once, then return. Default: false (run until `signal`). */
  once?: boolean;
  /** Time between two looks at what is due, in ms. Default: 5000. */
  tickMs?: number;
  /** Stops the scheduler: no new work starts, running backups are aborted. */
  signal?: AbortSignal;
  log?: (entry: SchedulerLogEntry) => void;
  /** Default: the current time. */
  now?: () => Date;
  /** Who acts, in the audit log. Default: `scheduler`. */
  actor?: string;
  executors?: Partial<Executors>;
}

export interface SchedulerSummary {
  started: number;
  ok: number;
  failed: number;
}

export const defaultExecutors: Executors = {
  async backup(context, dataset, signal, actor) {
    const plan = planBackup(context.plan, [dataset], (id) => context.repositoryOf(id));
    const [result] = await runBackup(context, plan, { signal, actor });
    if (!result) return { ok: false, message: 'not backed up (stopped before it began)' };
    return result.ok
      ? {
          ok: true,
          message: `snapshot ${result.snapshotId === undefined ? '-' : shortRecoveryPointId(result.snapshotId)} in ${(result.durationMs / 1000).toFixed(1)}s`,
        }
      : { ok: false, message: result.error ?? 'failed' };
  },
  async verify(context, dataset, _signal, actor) {
    const [result] = await runVerify(context, [dataset], { actor });
    if (!result) return { ok: false, message: 'nothing verified' };
    return result.ok
      ? {
          ok: true,
          message: `snapshot ${shortRecoveryPointId(result.snapshotId)} restored and checked (restore took ${result.restoreSeconds.toFixed(1)}s)`,
        }
      : { ok: false, message: result.error ?? 'failed' };
  },
  async prune(context, repository, _signal, actor) {
    const plan = planPrune(context.plan);
    const report = await applyPrune(
      context,
      // pgBackRest expires by itself after every backup: a scheduled prune is restic's only.
      { ...plan, repositories: plan.repositories.filter((r) => r.repository === repository), physical: [] },
      { actor },
    );
    const repo = report.repositories[0];
    if (!repo) return { ok: true, message: 'nothing to prune' };
    if (repo.error) return { ok: false, message: repo.error.message };
    const removed = repo.datasets.reduce((n, d) => n + d.remove.length, 0);
    const leftovers = repo.datasets.reduce((n, d) => n + d.leftovers.length, 0);
    return {
      ok: true,
      message: `removed ${removed} recovery point(s) and ${leftovers} leftover run(s), forgot ${repo.forgotten.length} snapshot(s)`,
    };
  },
};

/** Reads what `dueWork` needs from the state store (and the datasets' lock files). */
export async function readScheduleRecords(
  context: ProtectContext,
): Promise<Omit<ScheduleRecords, 'failures'>> {
  const state = await context.state();
  const prunes: ScheduleRecords['prunes'] = {};
  for (const { repository } of planPrune(context.plan).repositories)
    prunes[repository] = await pruneRecord(state, repository);
  return { datasets: await readStatusRecords(context), prunes };
}

async function pruneRecord(
  state: StateStore,
  repository: string,
): Promise<{ lastOk?: string; lastFailed?: string }> {
  const entries = await state.listAudit({
    action: 'prune.run',
    target: `repository:${repository}`,
    limit: 50,
  });
  const lastOk = entries.find((e) => e.outcome === 'ok')?.at;
  const lastFailed = entries.find((e) => e.outcome !== 'ok')?.at;
  return { ...(lastOk ? { lastOk } : {}), ...(lastFailed ? { lastFailed } : {}) };
}

/**
 * Runs the schedule until `signal` aborts (or, with `once`, until what was due has run).
 * Never throws for a piece of work that fails: it is logged, remembered for the retry
 * delay, and the scheduler goes on. This is the job runner's catch-all (STYLE habit 4).
 */
export async function runScheduler(
  context: ProtectContext,
  options: SchedulerOptions = {},
): Promise<SchedulerSummary> {
  const tickMs = options.tickMs ?? 5000;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => {});
  const actor = options.actor ?? 'scheduler';
  const executors = { ...defaultExecutors, ...options.executors };
  const stop = options.signal ?? new AbortController().signal;
  const stamp = () => now().toISOString();
  const summary: SchedulerSummary = { started: 0, ok: 0, failed: 0 };
  const failures: Record<string, string> = {};
  /** Repository → the work running on it. */
  const running = new Map<string, Promise<void>>();
  const done = new Set<string>(); // with `once`: keys already run
  // Set when work ends, so the loop looks again at once instead of at the next tick.
  let woken = false;
  let wake: () => void = () => {};

  const start = (item: WorkItem) => {
    summary.started++;
    done.add(item.key);
    const begun = Date.now();
    const where = {
      kind: item.kind,
      key: item.key,
      repository: item.repository,
      ...(item.dataset ? { dataset: item.dataset } : {}),
    };
    log({ at: stamp(), event: 'start', ...where, reason: item.reason });
    const target = item.kind === 'prune' ? item.repository : item.dataset!;
    const work = executors[item.kind](context, target, stop, actor).then(
      (outcome) => {
        if (outcome.ok) summary.ok++;
        else {
          summary.failed++;
          failures[item.key] = stamp();
        }
        log({
          at: stamp(),
          event: outcome.ok ? 'ok' : 'failed',
          ...where,
          message: outcome.message,
          durationMs: Date.now() - begun,
        });
      },
      (error: unknown) => {
        summary.failed++;
        failures[item.key] = stamp();
        log({
          at: stamp(),
          event: 'failed',
          ...where,
          message: errorText(error),
          durationMs: Date.now() - begun,
        });
      },
    );
    running.set(item.repository, work);
    void work.finally(() => {
      running.delete(item.repository);
      woken = true;
      wake();
    });
  };

  log({
    at: stamp(),
    event: 'scheduler-start',
    message: `${options.once ? 'once' : `every ${formatDuration(tickMs / 1000)}`}`,
  });
  while (!stop.aborted) {
    woken = false;
    let startedNow = 0;
    try {
      const records = { ...(await readScheduleRecords(context)), failures };
      for (const item of dueWork(context.plan, records, now())) {
        if (stop.aborted || running.has(item.repository)) continue;
        if (options.once && done.has(item.key)) continue;
        start(item);
        startedNow++;
      }
    } catch (error) {
      // The state store could not be read: nothing can be decided this tick; try the next.
      log({ at: stamp(), event: 'error', message: errorText(error) });
    }
    if (options.once && startedNow === 0 && running.size === 0) break;
    await new Promise<void>((resolve) => {
      // Work that ended during this pass: look again at once, but through the timer queue,
      // so that timers and I/O get their turn (the state store's reads are synchronous).
      const timer = setTimeout(finish, woken ? 0 : tickMs);
      function finish() {
        clearTimeout(timer);
        stop.removeEventListener('abort', finish);
        resolve();
      }
      wake = finish;
      stop.addEventListener('abort', finish, { once: true });
    });
  }
  if (running.size > 0) {
    log({ at: stamp(), event: 'stopping', message: `waiting for ${running.size} piece(s) of work to end` });
    await Promise.all(running.values());
  }
  log({ at: stamp(), event: 'scheduler-stop', message: `${summary.ok} ok, ${summary.failed} failed` });
  return summary;
}

function errorText(error: unknown): string {
  const e = coerceError(error);
  return e instanceof LifeboatError ? describeError(e) : `internal error: ${e.stack ?? e.message}`;
}
