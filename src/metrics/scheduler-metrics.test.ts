import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SchedulerLogEntry } from '../protect/scheduler.js';
import { renderExposition } from './exposition.js';
import { schedulerCounters } from './scheduler-metrics.js';
import { promtoolCheck } from './testing/promtool.js';

test('scheduler counters: every kind from 0, started, failed and running per kind, from the log entries', () => {
  const counters = schedulerCounters();
  const at = '2026-11-23T12:00:00.000Z';
  const entries: SchedulerLogEntry[] = [
    { at, event: 'scheduler-start' },
    { at, event: 'start', kind: 'backup', dataset: 'a', repository: 'r' },
    { at, event: 'start', kind: 'backup', dataset: 'b', repository: 's' },
    { at, event: 'failed', kind: 'backup', dataset: 'a', repository: 'r' },
    { at, event: 'start', kind: 'verify', dataset: 'a', repository: 'r' },
    { at, event: 'ok', kind: 'verify', dataset: 'a', repository: 'r' },
    { at, event: 'error', message: 'state store unreadable' },
  ];
  for (const entry of entries) counters.observe(entry);
  counters.collectFailed();
  const text = renderExposition(counters.families());
  assert.equal(promtoolCheck(text), '');
  for (const line of [
    'lifeboat_scheduler_runs_started_total{kind="backup"} 2',
    'lifeboat_scheduler_runs_started_total{kind="verify"} 1',
    'lifeboat_scheduler_runs_started_total{kind="prune"} 0',
    'lifeboat_scheduler_runs_failed_total{kind="backup"} 1',
    'lifeboat_scheduler_runs_failed_total{kind="verify"} 0',
    'lifeboat_scheduler_runs_in_progress{kind="backup"} 1',
    'lifeboat_scheduler_runs_in_progress{kind="verify"} 0',
    'lifeboat_scheduler_errors_total 1',
    'lifeboat_status_collect_failures_total 1',
  ])
    assert.ok(text.split('\n').includes(line), line);
});
