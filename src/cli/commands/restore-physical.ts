/**
 * `lifeboat restore` of a physically protected PostgreSQL dataset: point-in-time recovery with
 * pgBackRest into a new cluster (a data directory and a port), started and out of recovery.
 */
import { ExitCode } from '../../errors.js';
import type { ProtectContext } from '../../protect/context.js';
import { restorePhysical } from '../../protect/methods/physical/restore.js';
import type { ParsedArgs } from '../args.js';
import { formatSeconds } from '../format.js';

export async function restorePhysicalDataset(
  context: ProtectContext,
  dataset: string,
  parsed: ParsedArgs,
): Promise<number> {
  const to = parsed.string('to');
  const port = parsed.string('port');
  const result = await restorePhysical(context, {
    dataset,
    ...(parsed.string('at') ? { at: parsed.string('at')! } : {}),
    ...(parsed.string('lsn') ? { lsn: parsed.string('lsn')! } : {}),
    ...(parsed.string('restore-point') ? { restorePoint: parsed.string('restore-point')! } : {}),
    ...(to && to !== 'new' ? { toDataDir: to } : {}),
    ...(port ? { toPort: Number(port) } : {}),
    force: parsed.flag('force'),
  });
  if (parsed.flag('json')) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else
    process.stdout.write(
      `${dataset}: recovered to ${result.target} in ${formatSeconds(result.seconds)}\n` +
        `  data directory: ${result.dataDir}\n  running on:     ${result.url}\n`,
    );
  return ExitCode.ok;
}
