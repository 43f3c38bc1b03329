/**
 * lifeboat failover DATASET: promote the dataset's standby after its primary was lost (or,
 * with --force, although it still answers), fence the old primary and move the clients.
 * Shared with `lifeboat switchover` (planned, no loss): observe, plan, show the plan, typed
 * confirmation, apply, print the time each phase took. Every refusal changes nothing.
 */
import { actor } from '../../protect/audit.js';
import type { ProtectContext } from '../../protect/context.js';
import {
  EnvironmentError,
  ExitCode,
  LifeboatError,
  OperationError,
  RefusedError,
  UsageError,
} from '../../errors.js';
import { applyFailover } from '../../respond/failover/failover.js';
import { planFailover, type FailoverMode, type FailoverPlan } from '../../respond/failover/failover-plan.js';
import { observeFailover } from '../../respond/failover/observe.js';
import { datasetFailover, patroniUrl, type DatasetFailover } from '../../respond/failover/plan-topology.js';
import { parseCommandArgs, type ParsedArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { confirmTyped } from '../confirm.js';
import { withPlan } from '../open-plan.js';
import { progressReporter } from '../progress.js';
import { patroniRun } from './failover-patroni.js';
import { handoverReport, planText, resultText, type HandoverReport } from './failover-output.js';

const usages: Record<FailoverMode, string> = {
  failover: 'DATASET [--standby NAME] [--force] [--accept-loss] [--yes] [--dry-run] [--json] [--plan FILE]',
  switchover: 'DATASET [--standby NAME] [--yes] [--dry-run] [--json] [--plan FILE]',
};

export function run(args: string[], _context: CommandContext): Promise<number> {
  return runHandover('failover', args);
}

export async function runHandover(mode: FailoverMode, args: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    mode,
    args,
    {
      standby: { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      'dry-run': { type: 'boolean', short: 'n' },
      ...(mode === 'failover' ? { force: { type: 'boolean' }, 'accept-loss': { type: 'boolean' } } : {}),
    } as const,
    usages[mode],
  );
  const [dataset, ...extra] = parsed.positionals;
  if (dataset === undefined || extra.length > 0)
    throw new UsageError(`${mode}: name one dataset (got ${parsed.positionals.join(', ') || 'none'})`, {
      hint: `usage: lifeboat ${mode} ${usages[mode]}`,
    });
  return withPlan(parsed.string('plan'), async (context) => {
    context.dataset(dataset);
    const patroni = patroniUrl(context, dataset);
    const audit = auditor(context, mode, dataset);
    try {
      return patroni === undefined
        ? await handover(context, mode, dataset, parsed, audit)
        : await patroniRun(mode, dataset, patroni, parsed, audit);
    } catch (error) {
      // A dry run or a mistyped command is no action; a refusal or a failure is.
      if (!parsed.flag('dry-run') && !(error instanceof UsageError))
        await audit(error instanceof RefusedError ? 'refused' : 'failed', {
          error: (error as Error).message,
        }).catch(() => undefined);
      throw error;
    }
  });
}

type Audit = (outcome: string, details: Record<string, unknown>) => Promise<unknown>;

async function handover(
  context: ProtectContext,
  mode: FailoverMode,
  dataset: string,
  parsed: ParsedArgs,
  audit: Audit,
): Promise<number> {
  const json = parsed.flag('json');
  const failover = await datasetFailover(context, dataset);
  const observed = await observeFailover(failover.topology);
  if (mode === 'switchover' && observed.primary.reachable && !observed.primary.agentReachable)
    throw new EnvironmentError(
      `switchover stops the primary of ${dataset} cleanly, and Lifeboat cannot act on its host`,
      {
        hint: `Run Lifeboat on the primary's host with datasets.${dataset}.source.data_dir set to its data directory; nothing was changed.`,
      },
    );
  const plan = withFlagHints(mode, () =>
    planFailover(observed, {
      mode,
      ...failover.limits,
      force: parsed.flag('force'),
      acceptLoss: parsed.flag('accept-loss'),
      ...(parsed.string('standby') ? { standby: parsed.string('standby')! } : {}),
    }),
  );
  const preview = handoverReport(dataset, observed, plan, failover.rpoSeconds);
  if (parsed.flag('dry-run')) {
    process.stdout.write(json ? JSON.stringify(preview, null, 2) + '\n' : planText(preview));
    return ExitCode.ok;
  }
  await confirmTyped({
    expected: dataset,
    message: planText(preview).trimEnd(),
    yes: parsed.flag('yes'),
  }).catch((error: unknown) => {
    throw error instanceof RefusedError
      ? new RefusedError(`the ${mode} of ${dataset} was not confirmed: ${error.message}`, {
          hint: `Review it with --dry-run, then confirm with --yes; nothing was changed.`,
          cause: error,
        })
      : error;
  });
  const progress = progressReporter({ json });
  const result = await applyFailover(plan, failover.topology, {
    onStep: (step, done) => {
      progress.line(`  ${step.kind} done in ${done.seconds.toFixed(2)}s`);
      progress.event({ event: 'step', kind: step.kind, phase: done.phase, seconds: done.seconds });
    },
  }).catch((error: unknown) => releaseHeldClients(failover, plan, error));
  progress.done();
  if (result.fenceWatch) {
    // A CLI cannot watch for the old primary's return: whoever restores its host must stop it.
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
  process.stdout.write(
    json ? JSON.stringify(report, null, 2) + '\n' : resultText(report) + nextSteps(report),
  );
  return ExitCode.ok;
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

/** Refusals name the CLI flags that would override them. */
function withFlagHints<T>(mode: FailoverMode, plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    if (!(error instanceof RefusedError) || mode !== 'failover') throw error;
    const flag = /still answers/.test(error.message)
      ? '--force'
      : /RPO|lag/.test(error.message)
        ? '--accept-loss'
        : undefined;
    if (!flag) throw error;
    throw new RefusedError(error.message, {
      hint: `${error.hint ?? ''} Nothing was changed. To override: lifeboat failover ... ${flag}.`.trim(),
      cause: error,
      ...(error.details ? { details: error.details } : {}),
    });
  }
}

function auditor(context: ProtectContext, mode: FailoverMode, dataset: string): Audit {
  return async (outcome, details) =>
    (await context.state()).appendAudit({
      actor: actor(),
      action: `${mode}.run`,
      target: `dataset:${dataset}`,
      outcome,
      details,
    });
}

function nextSteps(report: HandoverReport): string {
  const { dataset, oldPrimary, newPrimary } = report;
  return (
    `  next: point datasets.${dataset}.source.url at ${newPrimary.address} in the plan, then rebuild the old primary ` +
    `(${oldPrimary.address}, which must not take writes again) as its standby: lifeboat standby create ${dataset} --to DIR\n`
  );
}
