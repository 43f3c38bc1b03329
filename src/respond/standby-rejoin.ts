/**
 * Bringing an old primary back as a standby of the server promoted in its place: pg_rewind
 * from the new primary (what the old one wrote after the fork is discarded: writes nobody
 * else has, already counted as lost), then it starts in recovery and streams. Audited as
 * `standby.rejoin`.
 *
 * It takes the plan as the failover left it (`source` the old primary, `replication.standby`
 * the promoted one) or as a person updated it (the two swapped): whichever of the two serves
 * out of recovery is the new primary, and the other is rewound on this host. Both out of
 * recovery is two primaries, refused: that is for a person to settle.
 */
import { EnvironmentError, RefusedError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { safeHost, query } from '../stores/postgres/sql.js';
import { datasetAuditor } from './audit.js';
import { datasetFailover } from './failover/plan-topology.js';
import { applyRejoin, observeRejoin, planRejoin, type RejoinStep } from './failover/rejoin.js';
import type { ManagedServer } from './failover/server.js';

export interface RejoinPreview {
  dataset: string;
  /** The server to rewind, and whether a failover marked it read-only. */
  old: { name: string; address: string; running: boolean; fenced: boolean };
  newPrimary: { name: string; address: string };
  steps: RejoinStep[];
  sync: boolean;
  /** The plan still names the old primary as `source`: the lines to write once it is a standby. */
  planUpdate: string | undefined;
}

export interface StandbyRejoinOptions {
  /** Show what would be done; change nothing. */
  dryRun?: boolean;
  /** Asked before anything changes; throwing (a RefusedError) refuses with nothing changed. */
  confirm(preview: RejoinPreview): Promise<void>;
  /** Who the audit entry names. Default: the OS user. */
  actor?: string;
}

export interface StandbyRejoinResult {
  preview: RejoinPreview;
  dryRun: boolean;
  seconds?: number;
  /** pg_rewind's own summary line. */
  rewind?: string;
}

async function serves(server: ManagedServer): Promise<'primary' | 'recovery' | 'down'> {
  try {
    const [row] = await query(server.url, 'SELECT pg_is_in_recovery() AS r', { timeoutMs: 3000 });
    return row?.r === true ? 'recovery' : 'primary';
  } catch {
    return 'down';
  }
}

export async function rejoinDatasetStandby(
  context: ProtectContext,
  dataset: string,
  options: StandbyRejoinOptions,
): Promise<StandbyRejoinResult> {
  const failover = await datasetFailover(context, dataset);
  const source = failover.topology.primary;
  const standby = failover.topology.standbys[0]!;
  const [sourceRole, standbyRole] = await Promise.all([serves(source), serves(standby)]);
  if (sourceRole === 'primary' && standbyRole === 'primary')
    throw new RefusedError(
      `both ${safeHost(source.url)} and ${safeHost(standby.url)} serve as primaries: rewinding either would discard writes it acknowledged`,
      {
        hint: 'Decide which one clients use, stop the other (pg_ctl stop -m immediate), then run this again.',
      },
    );
  // The promoted one is the primary; the other (down, fenced or in recovery) is rewound.
  const swapped = sourceRole === 'primary';
  if (!swapped && standbyRole !== 'primary')
    throw new EnvironmentError(
      `neither ${safeHost(source.url)} nor ${safeHost(standby.url)} serves as a primary: there is nothing to rejoin to`,
      { hint: 'Fail over first (lifeboat failover), or start the primary.' },
    );
  const old = swapped ? standby : source;
  const newPrimary = swapped ? source : standby;
  const observed = await observeRejoin(old, newPrimary);
  const plan = planRejoin(observed, { sync: failover.sync });
  const preview: RejoinPreview = {
    dataset,
    old: {
      name: old.name,
      address: safeHost(old.url),
      running: observed.old.running,
      fenced: observed.old.fenced,
    },
    newPrimary: { name: newPrimary.name, address: safeHost(newPrimary.url) },
    steps: plan.steps,
    sync: plan.sync,
    planUpdate: swapped
      ? undefined
      : [
          `datasets:`,
          `  ${dataset}:`,
          `    source: { url: <the URL of ${safeHost(newPrimary.url)}>${newPrimary.dataDir ? `, data_dir: ${newPrimary.dataDir}` : ''} }`,
          `    replication:`,
          `      standby: <the URL of ${safeHost(old.url)}>`,
          `      standby_name: ${old.name}`,
          ...(old.dataDir ? [`      standby_data_dir: ${old.dataDir}`] : []),
        ].join('\n'),
  };
  if (options.dryRun) return { preview, dryRun: true };
  await options.confirm(preview);
  const audit = datasetAuditor(context, 'standby.rejoin', dataset, options.actor);
  await audit('started', { old: preview.old, newPrimary: preview.newPrimary, steps: plan.steps });
  try {
    const done = await applyRejoin(plan, old, newPrimary);
    await audit('ok', { old: old.name, newPrimary: newPrimary.name, seconds: done.seconds });
    return { preview, dryRun: false, seconds: done.seconds, rewind: done.rewind };
  } catch (error) {
    await audit('failed', { error: (error as Error).message }).catch(() => undefined);
    throw error;
  }
}
