/**
 * The scheduler's own counters, kept from the entries it logs (so the scheduler knows
 * nothing of metrics). They count from the start of this `lifeboat run` process, as
 * Prometheus counters do; every kind is present from the start at 0, so `rate()` and
 * `increase()` see the first run.
 */
import type { SchedulerLogEntry, WorkKind } from '../protect/scheduler.js';
import type { MetricFamily } from './exposition.js';

const KINDS = Object.keys({ backup: 0, verify: 0, prune: 0 } satisfies Record<WorkKind, 0>) as WorkKind[];

export interface SchedulerCounters {
  /** Counts what the entry reports; call it with every entry the scheduler logs. */
  observe(entry: SchedulerLogEntry): void;
  /** Counts a status computation for /metrics that failed or did not finish in time. */
  collectFailed(): void;
  families(): MetricFamily[];
}

export function schedulerCounters(): SchedulerCounters {
  const zero = () => Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<WorkKind, number>;
  const started = zero();
  const failed = zero();
  const ended = zero();
  let errors = 0;
  let collectFailures = 0;
  const perKind = (counts: Record<WorkKind, number>) =>
    KINDS.map((kind) => ({ labels: { kind }, value: counts[kind] }));

  return {
    observe(entry) {
      if (entry.event === 'error') errors++;
      if (!entry.kind) return;
      if (entry.event === 'start') started[entry.kind]++;
      if (entry.event === 'ok' || entry.event === 'failed') ended[entry.kind]++;
      if (entry.event === 'failed') failed[entry.kind]++;
    },
    collectFailed() {
      collectFailures++;
    },
    families: () => [
      {
        name: 'lifeboat_scheduler_runs_started_total',
        help: 'Pieces of work the scheduler started, by kind (backup, verify, prune).',
        type: 'counter',
        samples: perKind(started),
      },
      {
        name: 'lifeboat_scheduler_runs_failed_total',
        help: 'Pieces of work that failed, by kind; each is retried after a quarter of its cadence.',
        type: 'counter',
        samples: perKind(failed),
      },
      {
        name: 'lifeboat_scheduler_runs_in_progress',
        help: 'Pieces of work running now, by kind.',
        type: 'gauge',
        samples: KINDS.map((kind) => ({ labels: { kind }, value: started[kind] - ended[kind] })),
      },
      {
        name: 'lifeboat_scheduler_errors_total',
        help: 'Passes in which the scheduler could not read the state store, and so started nothing.',
        type: 'counter',
        samples: [{ value: errors }],
      },
      {
        name: 'lifeboat_status_collect_failures_total',
        help: 'Computations of the status for /metrics that failed or did not finish in time; the last status computed is served instead.',
        type: 'counter',
        samples: [{ value: collectFailures }],
      },
    ],
  };
}
