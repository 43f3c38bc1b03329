/**
 * Failover and switchover of a dataset, whoever carries them out: Lifeboat itself (observe,
 * plan, the caller's confirmation, apply, the time each phase took) or Patroni, when the
 * dataset names one (handover-patroni.ts). Every outcome is audited as `failover.run` or
 * `switchover.run`; a dry run or a usage mistake is no action and is not. Every refusal
 * changes nothing. Once confirmed, a handover Lifeboat carries out is announced in the
 * Lifeboat home (handover-announce.ts) until it ends, so that a running `lifeboat watch`
 * pauses instead of declaring the primary lost, then follows the new primary.
 */
import { EnvironmentError, OperationError, RefusedError, UsageError, type LifeboatError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { datasetAuditor, type Audit } from './audit.js';
import { applyFailover, serverNamed } from './failover/failover.js';
import { planFailover, type FailoverPlan } from './failover/failover-plan.js';
import { observeFailover } from './failover/observe.js';
import { datasetFailover, patroniUrl, type DatasetFailover } from './failover/plan-topology.js';
import {
  announceHandover,
  describeHandover,
  handoverBudgetMs,
  withoutPassword,
  type Announcement,
} from './handover-announce.js';
import { patroniHandoverOf } from './handover-patroni.js';
import type { HandoverOptions, HandoverOutcome } from './handover-options.js';
import { handoverReport, type HandoverReport } from './handover-report.js';

export type { HandoverEvent, HandoverOptions, HandoverOutcome } from './handover-options.js';
export type { HandoverReport, PatroniHandoverReport } from './handover-report.js';

export async function runHandover(
  context: ProtectContext,
  dataset: string,
  options: HandoverOptions,
): Promise<HandoverOutcome> {
  context.dataset(dataset);
  const patroni = patroniUrl(context, dataset);
  const audit = datasetAuditor(context, `${options.mode}.run`, dataset, options.actor);
  try {
    return patroni === undefined
      ? { managedBy: 'lifeboat', report: await lifeboatHandover(context, dataset, options, audit) }
      : { managedBy: 'patroni', report: await patroniHandoverOf(dataset, patroni, options, audit) };
  } catch (error) {
    if (!options.dryRun && !(error instanceof UsageError))
      await audit(error instanceof RefusedError ? 'refused' : 'failed', {
        error: (error as Error).message,
      }).catch(() => undefined);
    throw error;
  }
}

async function lifeboatHandover(
  context: ProtectContext,
  dataset: string,
  options: HandoverOptions,
  audit: Audit,
): Promise<HandoverReport> {
  const { mode } = options;
  const failover = await datasetFailover(context, dataset);
  const observed = await observeFailover(failover.topology);
  if (mode === 'switchover' && observed.primary.reachable && !observed.primary.agentReachable)
    throw new EnvironmentError(
      `switchover stops the primary of ${dataset} cleanly, and Lifeboat cannot act on its host`,
      {
        hint: `Run Lifeboat on the primary's host with datasets.${dataset}.source.data_dir set to its data directory; nothing was changed.`,
      },
    );
  let plan: FailoverPlan;
  try {
    plan = planFailover(observed, {
      mode,
      ...failover.limits,
      force: options.force ?? false,
      acceptLoss: options.acceptLoss ?? false,
      ...(options.standby ? { standby: options.standby } : {}),
    });
  } catch (error) {
    throw error instanceof RefusedError && options.explainRefusal ? options.explainRefusal(error) : error;
  }
  const preview = handoverReport(dataset, observed, plan, failover.rpoSeconds);
  if (options.dryRun) return preview;
  await options.confirm({ managedBy: 'lifeboat', report: preview });
  const announcement = announce(context, dataset, mode, failover, plan, observed.at);
  const result = await applyFailover(plan, failover.topology, {
    onStep: (step, done) =>
      options.onEvent?.({ type: 'step', kind: step.kind, phase: done.phase, seconds: done.seconds }),
  })
    .catch((error: unknown) => releaseHeldClients(failover, plan, error))
    .catch((error: unknown) => {
      announcement.end(changedNothing(error) ? 'unchanged' : 'failed', { error: (error as Error).message });
      throw error;
    });
  const promoted = serverNamed(failover.topology, result.newPrimary);
  announcement.end('done', {
    newPrimary: { name: result.newPrimary, url: withoutPassword(promoted?.url ?? '') },
  });
  if (result.fenceWatch) {
    // The use case ends here, so nobody would be left to watch for the old primary's
    // return: whoever restores its host must stop it.
    result.fenceWatch.cancel();
    result.warnings.push(
      `${result.oldPrimary} could not be stopped: stop it before it can take writes again (pg_ctl stop -m immediate), then rejoin it as a standby`,
    );
  }
  const report = handoverReport(dataset, observed, plan, failover.rpoSeconds, result);
  await audit('ok', {
    from: report.oldPrimary,
    to: report.newPrimary,
    seconds: report.seconds,
    warnings: report.warnings,
  });
  return report;
}

/**
 * Tells any `lifeboat watch` of this dataset that the primary is being handed over on purpose
 * (so that it declares no loss, and follows the new primary), or refuses when another
 * handover is under way, or ended since this one observed the servers: its plan would act
 * on a world that is gone.
 */
function announce(
  context: ProtectContext,
  dataset: string,
  mode: HandoverOptions['mode'],
  failover: DatasetFailover,
  plan: FailoverPlan,
  observedAt: number,
): Announcement {
  const { primary } = failover.topology;
  const announcement = announceHandover({
    homeDir: context.homeDir,
    dataset,
    command: `lifeboat ${mode}`,
    mode,
    from: { name: primary.name, url: withoutPassword(primary.url) },
    budgetMs: handoverBudgetMs(plan),
  });
  const previous = announcement.previous;
  const endedAt = previous?.endedAt ?? previous?.startedAt;
  if (previous && endedAt !== undefined && Date.parse(endedAt) >= observedAt) {
    announcement.end('unchanged', { error: 'another handover ended meanwhile' });
    throw new RefusedError(
      `a ${previous.mode} of ${dataset} by ${describeHandover(previous)} ended while this ${mode} waited to start`,
      {
        hint: `The servers changed since they were observed: run lifeboat ${mode} ${dataset} --dry-run to see them as they are now. Nothing was changed.`,
      },
    );
  }
  return announcement;
}

/** A handover that failed before anything was promoted, its held clients sent back: nothing changed for the watch. */
function changedNothing(error: unknown): boolean {
  const details = (error as LifeboatError).details;
  const done = Array.isArray(details?.done) ? (details.done as string[]) : [];
  return done.length === 0 || /^switchover abandoned/.test((error as Error).message);
}

/**
 * A switchover that stopped before the old primary was stopped (the standby did not catch
 * up) leaves clients held at the router: send them back to the old primary, which still runs.
 */
async function releaseHeldClients(
  failover: DatasetFailover,
  plan: FailoverPlan,
  error: unknown,
): Promise<never> {
  const step = (error as LifeboatError).details?.step;
  const router = failover.topology.router;
  if (plan.mode !== 'switchover' || step !== 'wait-catchup' || !router) throw error;
  const primary = failover.topology.primary;
  try {
    await router.switchTo({ name: primary.name, ...primary.endpoint });
  } catch (undo) {
    throw new OperationError(
      `${(error as Error).message}; releasing the held clients failed too: ${(undo as Error).message}`,
      {
        hint: `Clients are held at ${router.name}: RESUME them there by hand. Nothing else was changed.`,
        cause: error,
      },
    );
  }
  throw new OperationError(`switchover abandoned: ${(error as Error).message}`, {
    hint: `No write was lost: clients went back to ${primary.name}, which was not stopped. Check the standby's replication (lifeboat failover --dry-run shows its lag) and retry.`,
    cause: error,
  });
}
