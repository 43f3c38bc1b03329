/**
 * The failover monitor: watches each PostgreSQL dataset's primary at the pace of its
 * `replication.detect_after`; when one is lost, does what the plan's scenario decides
 * (failover-policy.ts): `automatic` restarts it in place (when the plan allows and
 * PostgreSQL merely crashed) or fails over to the standby; anything else reports the loss
 * and the command a person runs. Each answer is audited as `watch.failover`. After a
 * failover the watch goes on until it is stopped, guarding the old primary: should it serve
 * writes again, it is stopped (or made read-only) and that is reported and audited.
 */
import { UsageError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { datasetAuditor } from './audit.js';
import { superviseFailover, type SuperviseOutcome } from './failover/auto-failover.js';
import { failoverPolicy, type FailoverPolicy } from './failover/failover-policy.js';
import { guardOldPrimary } from './failover/fence.js';
import { datasetFailover, patroniUrl, type DatasetFailover } from './failover/plan-topology.js';
import { asPostgres } from '../stores/index.js';

export type WatchEventKind =
  | 'watching'
  | 'stopping'
  | 'lost'
  | 'planned'
  | 'restart-failed'
  | 'restarted'
  | 'failed-over'
  | 'fenced'
  | 'approval-needed'
  | 'refused'
  | 'error';

/** One thing that happened to a dataset (`*`: to the watch), with a line for people and the event's own fields. */
export type WatchEvent = { dataset: string; event: WatchEventKind; message: string } & Record<
  string,
  unknown
>;

/** How the watch of a dataset ended: stopped, or the loss answered by anything but a restart. */
export type WatchEnd = 'stopped' | 'failed-over' | 'approval-needed' | 'refused' | 'error';

export interface WatchOptions {
  /** Default: every PostgreSQL dataset with a standby. */
  datasets?: string[];
  /** Stops watching; a failover in progress finishes first. */
  signal: AbortSignal;
  onEvent?(event: WatchEvent): void;
  /** Who the audit entries name. Default: the OS user. */
  actor?: string;
}

export interface WatchResult {
  ends: Record<string, WatchEnd>;
}

/**
 * Resolves once `signal` aborts, or once every dataset's loss was answered by anything but a
 * failover: after one, the old primary is guarded until the abort.
 */
export async function runWatch(context: ProtectContext, options: WatchOptions): Promise<WatchResult> {
  const ids = watchedDatasets(context, options.datasets ?? []);
  const { signal } = options;
  // Topologies first, all of them: a plan mistake stops the watch before anything is watched.
  const watched = await Promise.all(
    ids.map(async (id) => ({
      id,
      failover: await datasetFailover(context, id),
      policy: failoverPolicy(context.plan, id),
    })),
  );
  const fences: { cancel(): void }[] = [];
  const ends: Record<string, WatchEnd> = {};
  await Promise.all(
    watched.map(async ({ id, failover, policy }) => {
      ends[id] = await watchOne(context, id, failover, policy, { ...options, fences });
    }),
  );
  // After a failover, the old primary must not come back as a second primary while we run.
  if (fences.length > 0 && !signal.aborted)
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  for (const fence of fences) fence.cancel();
  return { ends };
}

function watchedDatasets(context: ProtectContext, named: string[]): string[] {
  for (const id of named) context.dataset(id);
  const candidates = Object.entries(context.plan.datasets ?? {})
    .filter(([, d]) => asPostgres(d.source) !== undefined && d.replication?.standby !== undefined)
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

type WatchRun = WatchOptions & { fences: { cancel(): void }[] };

/** Watches one dataset until it is stopped or its loss was answered by anything but a restart. */
async function watchOne(
  context: ProtectContext,
  id: string,
  failover: DatasetFailover,
  policy: FailoverPolicy,
  run: WatchRun,
): Promise<WatchEnd> {
  const write = run.onEvent ?? (() => {});
  const audit = datasetAuditor(context, 'watch.failover', id, run.actor);
  const quietly = (outcome: string, details: Record<string, unknown>) =>
    audit(outcome, details).catch(() => undefined);
  write({
    dataset: id,
    event: 'watching',
    message: `watching ${failover.topology.primary.url.replace(/\/\/[^@/]*@/, '//')}: loss declared after ${failover.watch.deadlineMs / 1000}s; ${policy.reason}`,
    decision: policy.decision,
    scenario: policy.scenario ?? null,
  });
  while (!run.signal.aborted) {
    const supervisor = superviseFailover({
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
    run.signal.addEventListener('abort', onAbort, { once: true });
    let outcome: SuperviseOutcome | undefined;
    try {
      outcome = await supervisor.done;
    } catch (error) {
      write({ dataset: id, event: 'error', message: `failover failed: ${(error as Error).message}` });
      await quietly('failed', { error: (error as Error).message });
      return 'error';
    } finally {
      run.signal.removeEventListener('abort', onAbort);
    }
    if (!outcome) return 'stopped';
    await answered(id, outcome, write, quietly, run.fences);
    if (outcome.outcome === 'failed-over') guard(id, failover, write, quietly, run.fences);
    if (outcome.outcome !== 'restarted') return outcome.outcome;
  }
  return 'stopped';
}

/** Keeps the old primary from serving writes next to the new one, for as long as the watch runs. */
function guard(
  id: string,
  failover: DatasetFailover,
  write: (event: WatchEvent) => void,
  audit: (outcome: string, details: Record<string, unknown>) => Promise<unknown>,
  fences: { cancel(): void }[],
): void {
  const old = failover.topology.primary;
  fences.push(
    guardOldPrimary(old, ({ action, returnedAt }) => {
      const seconds = (Date.now() - returnedAt) / 1000;
      write({
        dataset: id,
        event: 'fenced',
        message:
          action === 'stopped'
            ? `the old primary served writes again: stopped on its host in ${seconds.toFixed(2)}s`
            : `the old primary served writes again and its host is out of reach: made read-only over SQL (a superuser can undo that; stop it on its host)`,
        action,
      });
      void audit('fenced', { action, server: old.name });
    }),
  );
}

/** Reports and audits how a loss was answered. */
async function answered(
  id: string,
  outcome: SuperviseOutcome,
  write: (event: WatchEvent) => void,
  audit: (outcome: string, details: Record<string, unknown>) => Promise<unknown>,
  fences: { cancel(): void }[],
): Promise<void> {
  switch (outcome.outcome) {
    case 'restarted':
      write({
        dataset: id,
        event: 'restarted',
        message: `PostgreSQL restarted in place in ${outcome.seconds.toFixed(2)}s; watching again`,
        seconds: outcome.seconds,
      });
      return void (await audit('restarted', { seconds: outcome.seconds }));
    case 'failed-over': {
      const { result } = outcome;
      if (result.fenceWatch) fences.push(result.fenceWatch);
      write({
        dataset: id,
        event: 'failed-over',
        message:
          `failed over to ${result.newPrimary} in ${result.seconds.total.toFixed(2)}s after the loss was declared ` +
          `(fence ${result.seconds.fence.toFixed(2)}s, promote ${result.seconds.promote.toFixed(2)}s, route ${result.seconds.route.toFixed(2)}s)` +
          `; next: point datasets.${id}.source.url at the new primary and rebuild a standby (lifeboat standby create ${id} --to DIR)` +
          '; the old primary is guarded until this watch stops',
        from: result.oldPrimary,
        to: result.newPrimary,
        seconds: result.seconds,
        warnings: result.warnings,
      });
      return void (await audit('ok', {
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
      return void (await audit('approval-needed', { failure: outcome.loss.failure }));
    case 'refused':
      write({
        dataset: id,
        event: 'refused',
        message: `automatic failover refused: ${outcome.error.message}; nothing was changed`,
      });
      return void (await audit('refused', { error: outcome.error.message }));
  }
}
