/**
 * lifeboat watch [DATASET...]: the failover monitor. Watches each PostgreSQL dataset's
 * primary at the pace of its `replication.detect_after`; when one is lost, does what the
 * plan's scenario decides (failover-policy.ts): `automatic` restarts it in place (when the
 * plan allows and PostgreSQL merely crashed) or fails over to the standby; anything else
 * reports the loss and the command a person runs. Runs in the foreground until SIGINT or
 * SIGTERM; one line per event on stdout (a JSON object per line with --json).
 */
import { ExitCode, UsageError } from '../../errors.js';
import { actor } from '../../protect/audit.js';
import type { ProtectContext } from '../../protect/context.js';
import {
  superviseFailover,
  type SuperviseOutcome,
  type Supervisor,
} from '../../respond/failover/auto-failover.js';
import type { FenceWatch } from '../../respond/failover/fence.js';
import { failoverPolicy, type FailoverPolicy } from '../../respond/failover/failover-policy.js';
import { datasetFailover, patroniUrl } from '../../respond/failover/plan-topology.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { withPlan } from '../open-plan.js';
import { ownShutdown } from '../shutdown.js';

const USAGE = `[DATASET...] [--plan FILE] [--json]

Watches the primary of each PostgreSQL dataset with a standby URL (all of them unless
named). A primary that fails its probes for replication.detect_after (default 3s) is lost;
then the scenario whose detect probes name the dataset and whose runbook fails it over
decides: automatic (restart in place first when replication.restart_in_place and only
PostgreSQL crashed, else fail over), or approval (report, and wait for a person to run
lifeboat failover). A dataset no such scenario covers is only reported.
SIGINT or SIGTERM stops watching; a failover in progress finishes first; exit 0.`;

export type WatchEventKind =
  | 'watching'
  | 'stopping'
  | 'lost'
  | 'planned'
  | 'restart-failed'
  | 'restarted'
  | 'failed-over'
  | 'approval-needed'
  | 'refused'
  | 'error';

/** One line of output; with --json also `at` (ISO time) and the event's own fields. */
export type WatchEvent = { dataset: string; event: WatchEventKind; message: string } & Record<
  string,
  unknown
>;

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs('watch', args, {}, USAGE);
  const json = parsed.flag('json');
  const write = (event: WatchEvent) => {
    const line = { at: new Date().toISOString(), ...event };
    process.stdout.write(
      (json ? JSON.stringify(line) : `${line.at} ${line.dataset}: ${line.message}`) + '\n',
    );
  };
  return withPlan(parsed.string('plan'), async (context) => {
    const ids = watchedDatasets(context, parsed.positionals);
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (!stop.signal.aborted)
        write({ dataset: '*', event: 'stopping', message: `${signal} received: stopping` });
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    ownShutdown();
    try {
      // Topologies first, all of them: a plan mistake stops the command before anything is watched.
      const watched = await Promise.all(
        ids.map(async (id) => ({
          id,
          failover: await datasetFailover(context, id),
          policy: failoverPolicy(context.plan, id),
        })),
      );
      const fences: FenceWatch[] = [];
      await Promise.all(
        watched.map(({ id, failover, policy }) =>
          watchOne(context, id, failover, policy, { signal: stop.signal, write, fences }),
        ),
      );
      // After a failover, the old primary must not come back as a second primary while we run.
      if (fences.length > 0 && !stop.signal.aborted)
        await new Promise<void>((resolve) =>
          stop.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
      for (const fence of fences) fence.cancel();
      return ExitCode.ok;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

function watchedDatasets(context: ProtectContext, named: string[]): string[] {
  for (const id of named) context.dataset(id);
  const candidates = Object.entries(context.plan.datasets ?? {})
    .filter(([, d]) => d.source?.type === 'postgres' && d.replication?.standby !== undefined)
    .map(([id]) => id);
  const ids = named.length > 0 ? named : candidates;
  if (ids.length === 0)
    throw new UsageError('watch: no PostgreSQL dataset in the plan has a standby to fail over to', {
      hint: 'Name the standby under datasets.ID.replication.standby (a postgres:// URL), or build one with lifeboat standby create.',
    });
  for (const id of ids)
    if (patroniUrl(context, id) !== undefined)
      throw new UsageError(
        `watch: dataset '${id}' is managed by Patroni, which watches and fails over by itself`,
        {
          hint: 'Leave it out of lifeboat watch; lifeboat failover and switchover ask Patroni when a person decides.',
        },
      );
  return ids;
}

interface WatchIo {
  signal: AbortSignal;
  write(event: WatchEvent): void;
  fences: FenceWatch[];
}

type Failover = Awaited<ReturnType<typeof datasetFailover>>;

/** Watches one dataset until it is stopped or its loss was answered by anything but a restart. */
async function watchOne(
  context: ProtectContext,
  id: string,
  failover: Failover,
  policy: FailoverPolicy,
  io: WatchIo,
): Promise<void> {
  const { write } = io;
  write({
    dataset: id,
    event: 'watching',
    message: `watching ${failover.topology.primary.url.replace(/\/\/[^@/]*@/, '//')}: loss declared after ${failover.watch.deadlineMs / 1000}s; ${policy.reason}`,
    decision: policy.decision,
    scenario: policy.scenario ?? null,
  });
  while (!io.signal.aborted) {
    const supervisor: Supervisor = superviseFailover({
      topology: failover.topology,
      watch: failover.watch,
      decision: policy.decision,
      failover: { ...failover.limits },
      restartInPlace: failover.restartInPlace,
      onEvent: (event) => {
        if (event.type === 'lost')
          write({
            dataset: id,
            event: 'lost',
            message: `primary lost (${event.loss.failure}): ${event.loss.message}`,
            failure: event.loss.failure,
          });
        else if (event.type === 'planned')
          write({
            dataset: id,
            event: 'planned',
            message: `failing over to ${event.plan.standby}`,
            steps: event.plan.steps.map((s) => s.kind),
          });
        else
          write({ dataset: id, event: 'restart-failed', message: `restart in place failed: ${event.error}` });
      },
    });
    const onAbort = () => supervisor.stop();
    io.signal.addEventListener('abort', onAbort, { once: true });
    let outcome: SuperviseOutcome | undefined;
    try {
      outcome = await supervisor.done;
    } catch (error) {
      write({ dataset: id, event: 'error', message: `failover failed: ${(error as Error).message}` });
      await audit(context, id, 'failed', { error: (error as Error).message });
      return;
    } finally {
      io.signal.removeEventListener('abort', onAbort);
    }
    if (!outcome) return;
    await report(context, id, outcome, io);
    if (outcome.outcome !== 'restarted') return;
  }
}

async function report(
  context: ProtectContext,
  id: string,
  outcome: SuperviseOutcome,
  io: WatchIo,
): Promise<void> {
  const { write } = io;
  switch (outcome.outcome) {
    case 'restarted':
      write({
        dataset: id,
        event: 'restarted',
        message: `PostgreSQL restarted in place in ${outcome.seconds.toFixed(2)}s; watching again`,
        seconds: outcome.seconds,
      });
      return void (await audit(context, id, 'restarted', { seconds: outcome.seconds }));
    case 'failed-over': {
      const { result } = outcome;
      if (result.fenceWatch) io.fences.push(result.fenceWatch);
      write({
        dataset: id,
        event: 'failed-over',
        message:
          `failed over to ${result.newPrimary} in ${result.seconds.total.toFixed(2)}s after the loss was declared ` +
          `(fence ${result.seconds.fence.toFixed(2)}s, promote ${result.seconds.promote.toFixed(2)}s, route ${result.seconds.route.toFixed(2)}s)` +
          `; next: point datasets.${id}.source.url at the new primary and rebuild a standby (lifeboat standby create ${id} --to DIR)`,
        from: result.oldPrimary,
        to: result.newPrimary,
        seconds: result.seconds,
        warnings: result.warnings,
      });
      return void (await audit(context, id, 'ok', {
        from: result.oldPrimary,
        to: result.newPrimary,
        seconds: result.seconds,
      }));
    }
    case 'approval-needed':
      write({
        dataset: id,
        event: 'approval-needed',
        message: `the plan wants a person to decide: review with lifeboat failover ${id} --dry-run, then lifeboat failover ${id}`,
      });
      return void (await audit(context, id, 'approval-needed', { failure: outcome.loss.failure }));
    case 'refused':
      write({
        dataset: id,
        event: 'refused',
        message: `automatic failover refused: ${outcome.error.message}; nothing was changed`,
      });
      return void (await audit(context, id, 'refused', { error: outcome.error.message }));
  }
}

async function audit(
  context: ProtectContext,
  id: string,
  outcome: string,
  details: Record<string, unknown>,
): Promise<void> {
  await (
    await context.state()
  )
    .appendAudit({ actor: actor(), action: 'watch.failover', target: `dataset:${id}`, outcome, details })
    .catch(() => undefined);
}
