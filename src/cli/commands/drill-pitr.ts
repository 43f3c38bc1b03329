/** lifeboat drill pitr --sandbox: prove point-in-time recovery end to end on a throwaway primary. */
import { ExitCode, UsageError } from '../../errors.js';
import { abortOnSignals } from '../shutdown.js';
import { runPitrDrill } from '../../drill/pitr.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { reapLeftovers } from '../reap-leftovers.js';
import { formatSeconds, table } from '../format.js';

const USAGE = '--sandbox [--json]';

/** `out` is for tests that call the module in process; the CLI prints to stdout. */
export async function run(
  args: string[],
  _context: CommandContext,
  out: { write(text: string): unknown } = process.stdout,
): Promise<number> {
  const parsed = parseCommandArgs(
    'drill pitr',
    args,
    {
      sandbox: {
        type: 'boolean',
        help: 'run on a throwaway primary and repository made for the drill (required: the drill never touches a plan)',
      },
    },
    USAGE,
  );
  if (!parsed.flag('sandbox')) {
    throw new UsageError('drill pitr runs on a throwaway primary only: pass --sandbox', {
      hint: `usage: lifeboat drill pitr ${USAGE}`,
    });
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(`drill pitr takes no arguments, not '${parsed.positionals.join(' ')}'`, {
      hint: `usage: lifeboat drill pitr ${USAGE}`,
    });
  }
  const json = parsed.flag('json');
  await reapLeftovers(json);
  // The drill's throwaway servers are reaped at exit; the signal only says not to report a pass.
  const interrupt = abortOnSignals();
  const result = await runPitrDrill({
    sandbox: true,
    // Progress goes to stderr so that --json keeps stdout to one document.
    onEvent: ({ message }) => process.stderr.write(`${message}\n`),
  }).finally(() => interrupt.dispose());
  if (interrupt.signal.aborted) return ExitCode.interrupted;
  if (json) {
    out.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    out.write(
      table(
        ['target', 'markers found', 'restore', 'archive_mode', 'result'],
        result.variants.map((v) => [
          `${v.type} ${v.target}`,
          `[${v.markersFound.join(', ')}]`,
          v.restoreSeconds === undefined ? '-' : formatSeconds(v.restoreSeconds),
          v.archiveMode ?? '-',
          v.ok ? 'ok' : `WRONG${v.error ? `: ${v.error}` : ''}`,
        ]),
      ),
    );
    out.write(
      `expected markers [${result.markersExpected.join(', ')}]; repository ${result.repositoryUntouched ? 'untouched by the copies' : 'RECEIVED WAL FROM A RESTORED COPY'}\n`,
    );
    if (result.error) out.write(`error: ${result.error}\n`);
    out.write(`PITR drill ${result.ok ? 'passed' : 'FAILED'} in ${formatSeconds(result.durationSeconds)}\n`);
  }
  return result.ok ? ExitCode.ok : ExitCode.failed;
}
