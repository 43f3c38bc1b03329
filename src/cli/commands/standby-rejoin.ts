/**
 * lifeboat standby rejoin DATASET [--dry-run] [--yes] [--json]: after a failover, brings the
 * old primary back as a standby of the promoted one (pg_rewind, then streaming). The work is
 * rejoinDatasetStandby's.
 */
import { ExitCode, RefusedError, UsageError } from '../../errors.js';
import { rejoinDatasetStandby, type RejoinPreview } from '../../respond/standby-rejoin.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { confirmTyped } from '../confirm.js';
import { formatSeconds } from '../format.js';
import { withPlan } from '../open-plan.js';

const usage = 'DATASET [--dry-run] [--yes] [--json] [--plan FILE]';

function previewText(p: RejoinPreview): string {
  return [
    `${p.dataset}: ${p.old.name} (${p.old.address}) rejoins as a ${p.sync ? 'synchronous ' : ''}standby of ${p.newPrimary.name} (${p.newPrimary.address})`,
    `  ${p.old.name} is ${p.old.running ? 'running' : 'stopped'}${p.old.fenced ? ', marked read-only by the failover' : ''}`,
    `  steps: ${p.steps.join(', ')}`,
    `  pg_rewind discards what ${p.old.name} wrote after ${p.newPrimary.name} was promoted`,
  ].join('\n');
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'standby rejoin',
    args,
    { 'dry-run': { type: 'boolean', short: 'n' }, yes: { type: 'boolean', short: 'y' } },
    usage,
  );
  const json = parsed.flag('json');
  const [dataset, ...extra] = parsed.positionals;
  if (dataset === undefined || extra.length > 0)
    throw new UsageError('standby rejoin: name one dataset', {
      hint: `usage: lifeboat standby rejoin ${usage}`,
    });
  return withPlan(parsed.string('plan'), async (context) => {
    const result = await rejoinDatasetStandby(context, dataset, {
      dryRun: parsed.flag('dry-run'),
      confirm: (preview) =>
        confirmTyped({
          expected: dataset,
          yes: parsed.flag('yes'),
          message: previewText(preview),
        }).catch((error: unknown) => {
          throw error instanceof RefusedError
            ? new RefusedError(`the rejoin of ${dataset} was not confirmed: ${error.message}`, {
                hint: 'Review it with --dry-run, then confirm with --yes; nothing was changed.',
                cause: error,
              })
            : error;
        }),
    });
    if (json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return ExitCode.ok;
    }
    const lines = [previewText(result.preview)];
    if (result.dryRun) lines.push('dry run: nothing was changed');
    else
      lines.push(
        `rejoined in ${formatSeconds(result.seconds ?? 0)}${result.rewind ? ` (pg_rewind: ${result.rewind})` : ''}; it streams from ${result.preview.newPrimary.name}`,
      );
    if (result.preview.planUpdate)
      lines.push(
        'the plan still names the old primary as source; once it is a standby, write:',
        result.preview.planUpdate,
      );
    process.stdout.write(lines.join('\n') + '\n');
    return ExitCode.ok;
  });
}
