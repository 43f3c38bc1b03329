/** lifeboat plan schema: the JSON Schema of lifeboat.yaml, for editors and CI validators. */
import { ExitCode, UsageError } from '../../errors.js';
import { planJsonSchema } from '../../plan/json-schema.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  // --json is accepted (the output is JSON either way) so scripts can pass it uniformly.
  const parsed = parseCommandArgs('plan schema', args, {}, '[--json]   (the JSON Schema goes to stdout)');
  if (parsed.positionals.length > 0) {
    throw new UsageError(`plan schema: unexpected argument '${parsed.positionals[0]}'`, {
      hint: 'usage: lifeboat plan schema > lifeboat.schema.json',
    });
  }
  process.stdout.write(JSON.stringify(planJsonSchema(), null, 2) + '\n');
  return ExitCode.ok;
}
