/** lifeboat plan check: schema errors and rule findings, exit 1 when there is an error. */
import { ExitCode } from '../../errors.js';
import { checkPlanFile } from '../../plan/check.js';
import { planPath } from '../../plan/load.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { displayPath, formatFinding } from '../findings-output.js';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'plan check',
    args,
    {
      quiet: {
        type: 'boolean',
        short: 'q',
        help: 'list the errors only, not the warnings (the summary still counts both)',
      },
    },
    '[--plan FILE] [--json] [--quiet]',
    { positionals: 1 },
  );
  const file = planPath(parsed.string('plan') ?? parsed.positionals[0]);
  const { errors, warnings, info, loaded } = checkPlanFile(file);

  if (parsed.flag('json')) {
    const strip = ({ rule, severity, message, path, line, column, hint }: (typeof errors)[number]) => ({
      rule,
      severity,
      message,
      path,
      line: line ?? null,
      column: column ?? null,
      ...(hint ? { hint } : {}),
    });
    process.stdout.write(
      JSON.stringify(
        {
          file,
          contentHash: loaded.contentHash,
          valid: errors.length === 0,
          errors: errors.map(strip),
          warnings: warnings.map(strip),
          info: info.map(strip),
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const shown = parsed.flag('quiet')
      ? errors
      : [...errors, ...warnings, ...info].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    for (const finding of shown) process.stdout.write(formatFinding(file, finding) + '\n');
    const verdict = errors.length === 0 ? 'ok' : 'invalid';
    process.stdout.write(
      `${displayPath(file)}: ${verdict}, ${count(errors.length, 'error')}, ${count(warnings.length, 'warning')}\n`,
    );
  }
  return errors.length === 0 ? ExitCode.ok : ExitCode.failed;
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
