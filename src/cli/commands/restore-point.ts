/**
 * lifeboat restore-point create NAME --dataset ID: a named point in the WAL of a physical
 * dataset that `lifeboat restore --restore-point NAME` can stop at (take one before a risky
 * migration).
 */
import { ExitCode, UsageError } from '../../errors.js';
import { createRestorePoint } from '../../protect/methods/physical/restore-point.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { withPlan } from '../open-plan.js';

const USAGE = 'create NAME --dataset ID [--plan FILE] [--json]';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'restore-point',
    args,
    {
      dataset: {
        type: 'string',
        value: 'ID',
        short: 'd',
        help: 'the physical (pgBackRest) dataset whose primary records the point',
      },
    },
    USAGE,
  );
  // Registered as `restore-point create`, the word is gone; as `restore-point`, it is first.
  const positionals =
    parsed.positionals[0] === 'create' && parsed.positionals.length === 2
      ? parsed.positionals.slice(1)
      : parsed.positionals;
  const name = positionals[0];
  const dataset = parsed.string('dataset');
  if (positionals.length !== 1 || name === undefined || dataset === undefined) {
    throw new UsageError('restore-point create needs one NAME and --dataset ID', {
      hint: `usage: lifeboat restore-point ${USAGE}`,
    });
  }
  return withPlan(parsed.string('plan'), async (context) => {
    const result = await createRestorePoint(context, dataset, name);
    if (parsed.flag('json')) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      process.stdout.write(
        `restore point '${result.name}' of ${result.dataset} at LSN ${result.lsn} (${result.createdAt}), ` +
          `WAL segment ${result.walFile} ${result.archived ? 'archived' : 'NOT archived yet'}\n`,
      );
      if (!result.archived)
        process.stderr.write(
          'lifeboat: the segment is not in the repository yet; check `pg_stat_archiver`\n',
        );
    }
    return result.archived ? ExitCode.ok : ExitCode.failed;
  });
}
