/**
 * The CLI entry: finds the command, loads only its module (so that `plan check` never pays
 * for the state store or the engines), and is the one place that turns errors into exit codes.
 */
import { ExitCode, LifeboatError } from '../errors.js';
import type { CommandModule } from './command.js';
import {
  commandGroups,
  commands,
  findCommand,
  groupUsageText,
  suggestCommand,
  usageText,
} from './commands.js';
import { shutdownOwned } from './shutdown.js';
import { terminateDescendants } from '../system/process.js';

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(usageText());
    return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    const { version } = await import('./version.js');
    process.stdout.write(`lifeboat ${version()}\n`);
    return ExitCode.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = commandGroups().find((g) => g === argv[0]);
    // `lifeboat plan` names a group, not a command: its commands are the help it needs.
    if (group && (argv.length === 1 || argv[1] === '--help' || argv[1] === '-h' || argv[1] === 'help')) {
      process.stdout.write(groupUsageText(group));
      return argv.length === 1 ? ExitCode.usage : ExitCode.ok;
    }
    const typed = group ? argv.slice(0, 2).join(' ') : (argv[0] ?? '');
    const suggestion = suggestCommand(argv);
    process.stderr.write(
      `lifeboat: unknown command '${typed}'.\n` +
        (suggestion ? `Did you mean 'lifeboat ${suggestion}'?\n` : '') +
        (group
          ? groupUsageText(group)
          : `Known commands: ${commands.map((c) => c.name).join(', ')}.\nRun 'lifeboat --help' for usage.\n`),
    );
    return ExitCode.usage;
  }
  const module = (await found.command.load()) as CommandModule;
  return module.run(found.rest, {
    json: wantsJson(found.rest),
    commandNames: commands.map((c) => c.name),
  });
}

/** `--json`, or `--format json` where a command offers several formats: errors then come as JSON too. */
export function wantsJson(args: string[]): boolean {
  return args.some(
    (arg, i) =>
      arg === '--json' ||
      arg === '--format=json' ||
      ((arg === '--format' || arg === '-f') && args[i + 1] === 'json'),
  );
}

function report(error: unknown, json: boolean): number {
  if (error instanceof LifeboatError) {
    if (json) process.stdout.write(JSON.stringify(error.toJSON(), null, 2) + '\n');
    process.stderr.write(`lifeboat: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`lifeboat: internal error (a bug; please report it with this text):\n${message}\n`);
  return ExitCode.internal;
}

// `lifeboat ... | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const argv = process.argv.slice(2);
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`lifeboat: interrupted by ${signal}\n`);
    process.exitCode = ExitCode.interrupted;
    // Commands that own child processes register their own cleanup on the same signal;
    // give them a moment, then leave, unless the command finishes its work itself. A tool
    // still running then (a restore that took no signal) must not outlive us.
    if (!shutdownOwned())
      setTimeout(() => {
        terminateDescendants();
        process.exit(ExitCode.interrupted);
      }, 2000).unref();
  });
}
main(argv).then(
  (code) => {
    // Work that finished after the signal was still interrupted, unless the command owned the
    // shutdown and decided its own exit (a scheduler or a watch stopping cleanly).
    process.exitCode = interrupted && !shutdownOwned() ? ExitCode.interrupted : code;
  },
  (error: unknown) => {
    const code = report(error, wantsJson(argv));
    process.exitCode = interrupted && !shutdownOwned() ? ExitCode.interrupted : code;
  },
);
