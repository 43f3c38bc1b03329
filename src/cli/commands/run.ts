/** lifeboat run [--once]: the foreground scheduler (back up, verify and prune at the plan's cadence). */
import { ExitCode } from '../../errors.js';
import { serveRunMetrics } from '../../metrics/run-metrics.js';
import { schedulerCounters } from '../../metrics/scheduler-metrics.js';
import { parseListenAddress, type MetricsServer } from '../../metrics/server.js';
import { runScheduler, type SchedulerLogEntry } from '../../protect/scheduler.js';
import { acquireLease, schedulerLeaseName, type HeldLease } from '../../protect/scheduler-lease.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { withPlan } from '../open-plan.js';
import { ownShutdownUntilDone } from '../shutdown.js';

const USAGE = `[--once] [--tick SECONDS] [--metrics HOST:PORT] [--plan FILE] [--json]

Runs in the foreground (under systemd, a container, or a terminal) and, every tick, starts
what is due: a dataset's backup when its newest recovery point is backup.every old (with
backup.at HH:MM, UTC, for daily or slower cadences), its verification per verify.every
(default daily), and a prune of each repository daily. One piece of work per repository
at a time; a failure is logged and retried after a quarter of its cadence (1 min to 1 h).
One line per action on stdout (a JSON object per line with --json).
SIGINT or SIGTERM stops it: no new work starts, a running backup is aborted and recorded as
interrupted, a verification or prune in progress finishes; exit 0.
One scheduler per plan and state store: a second one exits 4, naming the host and pid of the
first. The first holds a lease in the state store, renewed while it runs; if it dies, the
lease is free at once on the same host, and after a minute from another.`;

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'run',
    args,
    {
      once: {
        type: 'boolean',
        help: 'run what is due now, each piece at most once, then exit (1 if any failed)',
      },
      tick: {
        type: 'duration',
        value: 'SECONDS',
        help: 'how often to look at what is due (seconds, or 30s, 1m). Default: 5',
      },
      metrics: {
        type: 'string',
        value: 'HOST:PORT',
        help:
          'serve Prometheus metrics at http://HOST:PORT/metrics (the status of every dataset,\n' +
          "computed on a scrape and kept 10s, and the scheduler's counters) and /healthz, until\n" +
          'the scheduler stops; e.g. 127.0.0.1:9187, port 0 picks a free one. Default: none',
      },
    },
    USAGE,
    { positionals: 0 },
  );
  const tick = parsed.number('tick') ?? 5;
  const metricsOption = parsed.string('metrics');
  const listen = metricsOption === undefined ? undefined : parseListenAddress(metricsOption);
  const json = parsed.flag('json');
  return withPlan(parsed.string('plan'), async (context) => {
    const counters = schedulerCounters();
    // A lost lease stops the scheduler as a signal does.
    const leaseLost = new AbortController();
    // The first signal stops the scheduler; later ones only say that it is stopping, so the
    // shutdown (aborting restic, recording the interrupted run, releasing locks) runs once.
    const onSignal = (signal: NodeJS.Signals, first: boolean) =>
      write({
        at: new Date().toISOString(),
        event: 'stopping',
        message: first ? `${signal} received` : `${signal} again: already stopping`,
      });
    const write = (entry: RunLogEntry) =>
      process.stdout.write((json ? JSON.stringify(entry) : formatEntry(entry)) + '\n');
    const log = (entry: SchedulerLogEntry) => {
      counters.observe(entry);
      write(entry);
    };
    let metrics: MetricsServer | undefined;
    let lease: HeldLease | undefined;
    try {
      if (listen) {
        metrics = await serveRunMetrics(context, {
          listen,
          counters,
          warn: (message) => write({ at: new Date().toISOString(), event: 'metrics', message }),
        });
        write({
          at: new Date().toISOString(),
          event: 'metrics',
          message: `serving ${metrics.url}`,
          url: metrics.url,
        });
      }
      // Before any work: a second scheduler on the plan stops here, naming the first.
      lease = await acquireLease(await context.state(), {
        name: schedulerLeaseName(context.plan),
        description: `lifeboat run --plan ${context.loaded.file}`,
        onLost: (reason) => {
          write({ at: new Date().toISOString(), event: 'error', message: `${reason}; stopping` });
          leaseLost.abort();
        },
      });
      // A verification or prune in progress finishes, however long it takes: not cut off after 2 s.
      const stop = ownShutdownUntilDone(onSignal);
      try {
        const summary = await runScheduler(context, {
          once: parsed.flag('once'),
          tickMs: tick * 1000,
          signal: AbortSignal.any([stop.signal, leaseLost.signal]),
          log,
        });
        return parsed.flag('once') && summary.failed > 0 ? ExitCode.failed : ExitCode.ok;
      } finally {
        stop.dispose();
      }
    } finally {
      await metrics?.close();
      await lease?.release();
    }
  });
}

/** What `run` prints: the scheduler's entries, and what the metrics endpoint has to say. */
type RunLogEntry = SchedulerLogEntry | { at: string; event: 'metrics'; message: string; url?: string };

function formatEntry(e: RunLogEntry): string {
  const time = e.at.replace(/\.\d+Z$/, 'Z');
  if (e.event === 'metrics') return `${time} metrics: ${e.message}`;
  const what = e.kind ? `${e.kind} ${e.dataset ?? e.repository}` : 'scheduler';
  switch (e.event) {
    case 'scheduler-start':
      return `${time} scheduler started (${e.message})`;
    case 'scheduler-stop':
      return `${time} scheduler stopped: ${e.message}`;
    case 'start':
      return `${time} ${what}: started (${e.reason})`;
    case 'ok':
      return `${time} ${what}: ok, ${e.message}`;
    case 'failed':
      return `${time} ${what}: FAILED: ${e.message}`;
    case 'error':
      return `${time} scheduler: error: ${e.message}`;
    case 'stopping':
      return `${time} scheduler stopping: ${e.message}`;
  }
}
