/** lifeboat status [DATASET...] [--check]: per dataset, is it protected as the plan asks? */
import { ExitCode } from '../../errors.js';
import { datasetStatus, formatAge, readStatusRecords, type StatusRow } from '../../protect/status.js';
import { formatDuration } from '../../plan/duration.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { table } from '../format.js';
import { withPlan } from '../open-plan.js';

const USAGE = `[DATASET...] [--check] [--plan FILE] [--json]

A dataset is compliant when both hold:
  1. its newest complete recovery point is no older than its RPO (dataset rpo, else
     objectives.rpo, else its backup cadence), counted from when that backup started;
  2. a verification passed within its verify cadence (verify.every, default daily), plus
     a grace of a quarter of the cadence, at most 1h.
A failed or interrupted backup, or a failed verification, is a warning while both hold,
and is listed among the reasons when one does not. Datasets without a source, or with an
external one, are not protected by Lifeboat and are not judged.

  --check  exit 1 when any dataset is not compliant (a monitoring probe); without it,
           status exits 0 whatever it finds`;

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs('status', args, { check: { type: 'boolean' } }, USAGE);
  return withPlan(parsed.string('plan'), async (context) => {
    for (const id of parsed.positionals) context.dataset(id);
    const records = await readStatusRecords(context);
    const all = datasetStatus(context.plan, records, new Date());
    const rows =
      parsed.positionals.length > 0 ? all.filter((r) => parsed.positionals.includes(r.dataset)) : all;
    const failing = rows.filter((r) => r.compliant === false);
    if (parsed.flag('json')) {
      process.stdout.write(
        JSON.stringify({ compliant: failing.length === 0, datasets: rows }, null, 2) + '\n',
      );
    } else {
      process.stdout.write(formatRows(rows));
    }
    return parsed.flag('check') && failing.length > 0 ? ExitCode.failed : ExitCode.ok;
  });
}

function formatRows(rows: StatusRow[]): string {
  if (rows.length === 0) return 'the plan declares no datasets\n';
  const lines = table(
    ['dataset', 'rpo', 'newest', 'verified', 'last failure', 'status'],
    rows.map((r) => [
      r.dataset,
      r.rpoSeconds === null ? '-' : formatDuration(r.rpoSeconds),
      r.newest ? `${formatAge(r.newest.ageSeconds)} ago` : r.protected ? 'never' : '-',
      r.verified ? `${formatAge(r.verified.ageSeconds)} ago` : r.protected ? 'never' : '-',
      r.lastFailure
        ? `${formatAge(r.lastFailure.ageSeconds)} ago${r.lastFailure.interrupted ? ' (interrupted)' : ''}`
        : '-',
      verdict(r),
    ]),
  );
  const details = rows.flatMap((r) => [
    ...(r.note ? [`${r.dataset}: ${r.note}`] : []),
    ...r.reasons.map((reason) => `${r.dataset}: ${reason}`),
    ...r.warnings.map((warning) => `${r.dataset}: warning: ${warning}`),
  ]);
  return lines + (details.length > 0 ? `\n${details.join('\n')}\n` : '');
}

function verdict(row: StatusRow): string {
  const running = row.running ? ', backup running' : '';
  if (row.compliant === null) return 'not protected';
  return (row.compliant ? 'ok' : 'NOT COMPLIANT') + running;
}
