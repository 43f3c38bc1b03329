/**
 * lifeboat failover DATASET: promote the dataset's standby after its primary was lost (or,
 * with --force, although it still answers), fence the old primary and move the clients.
 * Shared with `lifeboat switchover` (planned, no loss): the plan shown, a typed
 * confirmation, then the time each phase took. The work is runHandover's. --dry-run shows
 * the plan and exits 0 even when the real run, as asked, would be refused: each refusal is
 * listed with the option it needs, and the plan shown is the one that option would carry out.
 */
import { ExitCode, RefusedError, UsageError } from '../../errors.js';
import type { FailoverMode } from '../../respond/failover/failover-plan.js';
import { patroniUrl } from '../../respond/failover/plan-topology.js';
import { runHandover, type HandoverOutcome, type HandoverReport } from '../../respond/handover.js';
import { previewHandover, type HandoverRefusal } from '../../respond/handover-preview.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { confirmTyped } from '../confirm.js';
import { withPlan } from '../open-plan.js';
import { progressReporter } from '../progress.js';
import { patroniText } from './failover-patroni.js';
import { planText, resultText } from './failover-output.js';

const usages: Record<FailoverMode, string> = {
  failover: 'DATASET [--standby NAME] [--force] [--accept-loss] [--yes] [--dry-run] [--json] [--plan FILE]',
  switchover: 'DATASET [--standby NAME] [--yes] [--dry-run] [--json] [--plan FILE]',
};

export function run(args: string[], _context: CommandContext): Promise<number> {
  return runHandoverCommand('failover', args);
}

export async function runHandoverCommand(mode: FailoverMode, args: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    mode,
    args,
    {
      standby: {
        type: 'string',
        value: 'NAME',
        help: 'the standby to promote. Default: the synchronous one, else the least behind',
      },
      yes: {
        type: 'boolean',
        short: 'y',
        help: 'confirm without the typed prompt (needed without a terminal)',
      },
      'dry-run': {
        type: 'boolean',
        short: 'n',
        help: 'show the plan, the lag against the RPO and any reason it would refuse; change nothing',
      },
      ...(mode === 'failover'
        ? {
            force: {
              type: 'boolean',
              help: 'fail over although the primary still answers (it is fenced first); implies --accept-loss',
            },
            'accept-loss': {
              type: 'boolean',
              help: 'promote although the standby may miss more writes than the RPO allows, or its lag cannot be measured',
            },
          }
        : {}),
    } as const,
    usages[mode],
  );
  const [dataset, ...extra] = parsed.positionals;
  if (dataset === undefined || extra.length > 0)
    throw new UsageError(`${mode}: name one dataset (got ${parsed.positionals.join(', ') || 'none'})`, {
      hint: `usage: lifeboat ${mode} ${usages[mode]}`,
    });
  const json = parsed.flag('json');
  const dryRun = parsed.flag('dry-run');
  if (dryRun && parsed.flag('yes'))
    throw new UsageError(`${mode}: --yes confirms a ${mode}, and --dry-run asks for no confirmation`, {
      hint: `Drop --yes to see the plan, or --dry-run to carry it out: lifeboat ${mode} ${usages[mode]}`,
    });
  const progress = progressReporter({ json });
  return withPlan(parsed.string('plan'), async (context) => {
    const asked = {
      mode,
      force: parsed.flag('force'),
      acceptLoss: parsed.flag('accept-loss'),
      ...(parsed.string('standby') ? { standby: parsed.string('standby')! } : {}),
    };
    if (patroniUrl(context, dataset) !== undefined && (asked.force || asked.acceptLoss))
      throw new UsageError(
        `${mode}: ${asked.force ? '--force' : '--accept-loss'} does not apply to ${dataset}, whose failover Patroni decides`,
        {
          hint: 'Patroni refuses a candidate that lags more than its maximum_lag_on_failover; drop the option, or change that setting in Patroni.',
        },
      );
    if (dryRun) {
      const preview = await previewHandover(context, dataset, asked);
      process.stdout.write(
        json
          ? JSON.stringify({ ...preview.outcome.report, refusals: refusalsJson(preview.refusals) }, null, 2) +
              '\n'
          : text(preview.outcome) + refusalsText(preview.refusals) + '(dry run: nothing was changed)\n',
      );
      return ExitCode.ok;
    }
    const outcome = await runHandover(context, dataset, {
      ...asked,
      confirm: (preview) =>
        confirmTyped({
          expected: dataset,
          message: text(preview).trimEnd(),
          yes: parsed.flag('yes'),
        }).catch((error: unknown) => {
          throw error instanceof RefusedError
            ? new RefusedError(`the ${mode} of ${dataset} was not confirmed: ${error.message}`, {
                hint: `Review it with --dry-run, then confirm with --yes; nothing was changed.`,
                cause: error,
              })
            : error;
        }),
      explainRefusal: (refusal) => withFlagHint(mode, refusal),
      onEvent: (event) => {
        if (event.type === 'patroni') return progress.line(`  ${event.message}`);
        progress.line(`  ${event.kind} done in ${event.seconds.toFixed(2)}s`);
        progress.event({ event: 'step', kind: event.kind, phase: event.phase, seconds: event.seconds });
      },
    });
    progress.done();
    process.stdout.write(json ? JSON.stringify(outcome.report, null, 2) + '\n' : text(outcome));
    return ExitCode.ok;
  });
}

const flags: Record<HandoverRefusal['override'], string> = { force: '--force', acceptLoss: '--accept-loss' };

function refusalsJson(refusals: HandoverRefusal[]) {
  return refusals.map((r) => ({
    message: r.message,
    ...(r.hint ? { hint: r.hint } : {}),
    needs: flags[r.override],
  }));
}

/** What the real run, as asked, would refuse: the plan above is the one each option would carry out. */
function refusalsText(refusals: HandoverRefusal[]): string {
  return refusals.map((r) => `  refused as asked: ${r.message}\n    needs: ${flags[r.override]}\n`).join('');
}

function text(outcome: HandoverOutcome): string {
  if (outcome.managedBy === 'patroni') return patroniText(outcome.report);
  const { report } = outcome;
  return report.dryRun ? planText(report) : resultText(report) + nextSteps(report);
}

/** Refusals name the CLI flag that would override them. */
function withFlagHint(mode: FailoverMode, error: RefusedError): RefusedError {
  if (mode !== 'failover') return error;
  const flag = /still answers/.test(error.message)
    ? '--force'
    : /RPO|lag/.test(error.message)
      ? '--accept-loss'
      : undefined;
  if (!flag) return error;
  return new RefusedError(error.message, {
    hint: `${error.hint ?? ''} Nothing was changed. To override: lifeboat failover ... ${flag}.`.trim(),
    cause: error,
    ...(error.details ? { details: error.details } : {}),
  });
}

function nextSteps(report: HandoverReport): string {
  const { dataset, oldPrimary, newPrimary } = report;
  return (
    `  next: point datasets.${dataset}.source.url at ${newPrimary.address} in the plan, then rebuild the old primary ` +
    `(${oldPrimary.address}, which must not take writes again) as its standby: lifeboat standby create ${dataset} --to DIR\n`
  );
}
