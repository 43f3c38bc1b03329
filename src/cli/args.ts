/**
 * The one argument parser of the commands: node's parseArgs, with each option's kind of value
 * checked here (see option-values.ts) and every mistake turned into a UsageError that names
 * the option and what it takes, or the closest option when the name itself is wrong.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { closest } from '../plan/schema-walk.js';
import { checkOptionValue, optionSynopsis, type OptionSpec } from './option-values.js';

export type { OptionSpec, OptionSpecs } from './option-values.js';

/**
 * An option as node's parseArgs declares it, with no help text and no checked kind. Commands
 * still written this way parse as before; their options are left out of `--help`'s list.
 */
type PlainOption = NonNullable<ParseArgsConfig['options']>[string];

export const commonOptions = {
  plan: {
    type: 'string',
    value: 'FILE',
    short: 'p',
    help: 'the plan to read. Default: $LIFEBOAT_PLAN, else ./lifeboat.yaml',
  },
  json: { type: 'boolean', help: 'print one JSON document on stdout (errors too)' },
  help: { type: 'boolean', short: 'h', help: 'print this help and exit' },
} as const satisfies Record<string, OptionSpec>;

export interface ParsedArgs {
  values: { [name: string]: string | boolean | (string | boolean)[] | undefined };
  positionals: string[];
  string(name: string): string | undefined;
  flag(name: string): boolean;
  /** The checked number of an integer, port or duration (seconds) option; undefined when not given. */
  number(name: string): number | undefined;
  /** Whether the option was given at all (a flag set, a value passed). */
  given(name: string): boolean;
}

/**
 * `usage` is the synopsis after `lifeboat COMMAND`, optionally followed by a blank line and
 * prose; `--help` prints it, then one line per option that has a help text.
 */
export function parseCommandArgs(
  command: string,
  args: string[],
  options: Record<string, OptionSpec | PlainOption>,
  usage: string,
  /** How many arguments besides options it takes at most. Default: any number. */
  takes: { positionals?: number } = {},
): ParsedArgs {
  const all: Record<string, OptionSpec | PlainOption> = { ...options, ...commonOptions };
  let parsed: { values: ParsedArgs['values']; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: nodeOptions(all), allowPositionals: true, strict: true });
  } catch (error) {
    throw argumentError(command, error as Error & { code?: string }, all, usage);
  }
  if (parsed.values.help) {
    process.stdout.write(helpText(command, usage, all));
    process.exit(0);
  }
  const most = takes.positionals ?? Infinity;
  if (parsed.positionals.length > most) {
    const extra = parsed.positionals.slice(most).map((p) => `'${p}'`);
    throw new UsageError(
      `${command}: unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(' ')}${most === 0 ? ` (${command} takes options only)` : ''}`,
      { hint: `usage: lifeboat ${command} ${synopsis(usage)}` },
    );
  }
  const numbers = new Map<string, number>();
  for (const [name, spec] of Object.entries(all)) {
    const raw = parsed.values[name];
    if (typeof raw !== 'string' || !('help' in spec)) continue;
    const checked = checkOptionValue(spec, raw);
    if (!checked.ok) {
      throw new UsageError(`${command}: --${name} takes ${checked.takes}, not '${raw}'`, {
        hint: checked.suggestion
          ? `did you mean --${name} ${checked.suggestion}?`
          : `usage: lifeboat ${command} ${synopsis(usage)}`,
      });
    }
    if (typeof checked.value === 'number') numbers.set(name, checked.value);
  }
  return {
    ...parsed,
    string: (name) => {
      const value = parsed.values[name];
      return typeof value === 'string' ? value : undefined;
    },
    flag: (name) => parsed.values[name] === true,
    number: (name) => numbers.get(name),
    given: (name) => parsed.values[name] !== undefined,
  };
}

function nodeOptions(all: Record<string, OptionSpec | PlainOption>): ParseArgsConfig['options'] {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(all)) {
    if (!('help' in spec)) {
      out[name] = spec as PlainOption;
      continue;
    }
    out[name] = {
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.type === 'string' && spec.multiple ? { multiple: true } : {}),
    };
  }
  return out;
}

function argumentError(
  command: string,
  error: Error & { code?: string },
  all: Record<string, OptionSpec | PlainOption>,
  usage: string,
): UsageError {
  const hint = `usage: lifeboat ${command} ${synopsis(usage)}; lifeboat ${command} --help explains each option`;
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const written = /'(-[^']*)'/.exec(error.message)?.[1] ?? '';
    const name = written.replace(/^-+/, '').split('=')[0] ?? '';
    const suggestion = name.length > 1 ? closest(name, Object.keys(all)) : undefined;
    return new UsageError(`${command}: unknown option '${written}'`, {
      hint: suggestion ? `did you mean --${suggestion}? (${hint})` : hint,
    });
  }
  // Node's own sentence names the option: "Option '--limit <value>' argument missing".
  return new UsageError(`${command}: ${error.message}`, { hint });
}

/** The first line of `usage`: what follows `lifeboat COMMAND`. */
function synopsis(usage: string): string {
  return usage.split('\n')[0] ?? usage;
}

export function helpText(
  command: string,
  usage: string,
  all: Record<string, OptionSpec | PlainOption>,
): string {
  const described = Object.entries(all).flatMap(([name, spec]) =>
    'help' in spec ? [[optionSynopsis(name, spec), spec.help] as const] : [],
  );
  const width = Math.min(28, Math.max(...described.map(([s]) => s.length)));
  const pad = ' '.repeat(width + 4);
  const lines = described.map(([s, help]) => {
    // A long help text is wrapped; its lines go under the first.
    const text = wrap(help.replace(/\s*\n\s*/g, ' ')).join(`\n${pad}`);
    return s.length > width ? `  ${s}\n${pad}${text}` : `  ${s.padEnd(width)}  ${text}`;
  });
  // A command whose own options carry no help text explains them in its usage text; the list
  // is then of the common options only, and must not read as all of them.
  const complete = Object.values(all).every((spec) => 'help' in spec);
  return `Usage: lifeboat ${command} ${usage.trimEnd()}\n\n${complete ? 'Options' : 'Common options'}:\n${lines.join('\n')}\n`;
}

/** Lines of at most 76 characters, broken between words. */
function wrap(line: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > 76) {
      out.push(current);
      current = word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  return [...out, current];
}
