/** Argument parsing for commands: node's parseArgs, with mistakes turned into UsageError. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export const commonOptions = {
  plan: { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export interface ParsedArgs {
  values: { [name: string]: string | boolean | (string | boolean)[] | undefined };
  positionals: string[];
  string(name: string): string | undefined;
  flag(name: string): boolean;
}

export function parseCommandArgs(
  command: string,
  args: string[],
  options: Options,
  usage: string,
): ParsedArgs {
  let parsed: { values: ParsedArgs['values']; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { ...commonOptions, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`, {
      hint: `usage: lifeboat ${command} ${usage}`,
    });
  }
  if (parsed.values.help) {
    process.stdout.write(`Usage: lifeboat ${command} ${usage}\n`);
    process.exit(0);
  }
  return {
    ...parsed,
    string: (name) => {
      const value = parsed.values[name];
      return typeof value === 'string' ? value : undefined;
    },
    flag: (name) => parsed.values[name] === true,
  };
}
