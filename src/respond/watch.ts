/**
 * The failover monitor: watches each PostgreSQL dataset's primary at the pace of its
 * `replication.detect_after`; when one is lost, does what the plan's scenario decides
 * (failover-policy.ts): `automatic` restarts it in place (when the plan allows and
 * PostgreSQL merely crashed) or fails over to the standby; anything else reports the loss
 * and the command a person runs. Each answer is audited as `watch.failover`. A handover
 * another Lifeboat process announces pauses it; after any failover it follows the new
 * primary and guards the old one (watch-dataset.ts) until it is stopped.
 */
import { UsageError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { failoverPolicy } from './failover/failover-policy.js';
import { datasetFailover, patroniUrl } from './failover/plan-topology.js';
import { asPostgres } from '../stores/index.js';
import { watchDataset, type DatasetWatch } from './watch-dataset.js';
import type { WatchEnd, WatchEvent } from './watch-events.js';

export type { WatchEnd, WatchEvent, WatchEventKind } from './watch-events.js';

export interface WatchOptions {
  /** Default: every PostgreSQL dataset with a standby. */
  datasets?: string[];
  /** Stops watching; a failover in progress finishes first. */
  signal: AbortSignal;
  onEvent?(event: WatchEvent): void;
  /** Who the audit entries name. Default: the OS user. */
  actor?: string;
  /**
   * Lets the caller hand the watch a plan read again (on SIGHUP, say): the servers it names
   * become known as possible standbys of the primary watched. Default: the plan read at the start.
   */
  onPlanReload?(reload: (next: () => ProtectContext) => Promise<void>): void;
}

export interface WatchResult {
  ends: Record<string, WatchEnd>;
}

/**
 * Resolves once `signal` aborts, or once every dataset's loss was answered by anything but a
 * restart or a failover (after which the new primary is watched): old primaries are guarded
 * until the abort.
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
  const watches = new Map<string, DatasetWatch>();
  for (const { id, failover, policy } of watched)
    watches.set(id, watchDataset(context, id, failover, policy, { ...options, fences }));
  options.onPlanReload?.(async (next) => {
    for (const [id, watch] of watches) {
      try {
        watch.learn(await datasetFailover(next(), id));
      } catch (error) {
        watch.reloadFailed(error as Error);
      }
    }
  });
  const ends: Record<string, WatchEnd> = {};
  await Promise.all([...watches].map(async ([id, watch]) => (ends[id] = await watch.done)));
  // After a failover, an old primary must not come back as a second primary while we run.
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
