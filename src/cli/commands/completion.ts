/** lifeboat completion bash|zsh|fish: prints the shell's completion script. */
import { ExitCode, UsageError } from '../../errors.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { completionScript, shells, type Shell } from '../completion.js';

export async function run(args: string[], context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs('completion', args, {}, `${shells.join('|')}`);
  const [shell, ...extra] = parsed.positionals;
  if (!shells.includes(shell as Shell) || extra.length > 0)
    throw new UsageError(`completion: name one shell: ${shells.join(', ')}`, {
      hint: 'bash: eval "$(lifeboat completion bash)"; zsh: eval "$(lifeboat completion zsh)"; fish: lifeboat completion fish | source',
    });
  process.stdout.write(completionScript(shell as Shell, context.commandNames ?? []));
  return Promise.resolve(ExitCode.ok);
}
