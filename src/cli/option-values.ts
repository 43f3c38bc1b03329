/**
 * The kinds of value a command-line option takes, checked when the command line is parsed:
 * a mistake in `--limit` or `--port` is then a usage error naming the option, before any
 * plan is read, lock taken or server contacted, and no command checks its values again.
 */
import { parseDuration } from '../plan/duration.js';
import { closest } from '../plan/schema-walk.js';

interface Described {
  /** What the option does, for `--help`; ends with its default when it has one. */
  help: string;
  short?: string;
}

export type OptionSpec = Described &
  (
    | { type: 'boolean' }
    | { type: 'string'; value: string; multiple?: boolean }
    /** A whole number within [min, max]. */
    | { type: 'integer'; value: string; min: number; max: number }
    /** A TCP port, 1 to 65535. */
    | { type: 'port' }
    /** Seconds: a number (`5`, `0.5`) or a plan duration (`30s`, `2m`, `1h30m`), above 0. */
    | { type: 'duration'; value: string }
    | { type: 'enum'; values: readonly string[] }
    /** Free text of a shape: `takes` says what in words (it completes "takes ..."). */
    | { type: 'pattern'; value: string; pattern: RegExp; takes: string }
  );

export type OptionSpecs = Record<string, OptionSpec>;

/** A checked value: numbers for integer, port and duration (seconds), the text otherwise. */
export type OptionValue = string | number;

/**
 * The value `text` given to `--name`, or a sentence saying what the option takes (to be
 * completed with "not '...'").
 */
export function checkOptionValue(
  spec: OptionSpec,
  text: string,
): { ok: true; value: OptionValue } | { ok: false; takes: string; suggestion?: string } {
  switch (spec.type) {
    case 'boolean':
    case 'string':
      return { ok: true, value: text };
    case 'integer':
      return integerIn(text, spec.min, spec.max, `a whole number from ${spec.min} to ${spec.max}`);
    case 'port':
      return integerIn(text, 1, 65535, 'a TCP port, a whole number from 1 to 65535');
    case 'duration': {
      const trimmed = text.trim();
      const seconds = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : parseDuration(trimmed);
      return seconds !== undefined && seconds > 0 && Number.isFinite(seconds)
        ? { ok: true, value: seconds }
        : { ok: false, takes: 'a duration above 0: seconds (5, 0.5) or 30s, 2m, 1h30m' };
    }
    case 'enum': {
      if (spec.values.includes(text)) return { ok: true, value: text };
      const suggestion = closest(text, spec.values);
      return { ok: false, takes: oneOf(spec.values), ...(suggestion ? { suggestion } : {}) };
    }
    case 'pattern':
      return spec.pattern.test(text) ? { ok: true, value: text } : { ok: false, takes: spec.takes };
  }
}

function integerIn(
  text: string,
  min: number,
  max: number,
  takes: string,
): { ok: true; value: number } | { ok: false; takes: string } {
  // Number() would take '', ' ', '0x10' and '1e3'; a count or a port is written in digits.
  if (!/^-?\d+$/.test(text.trim())) return { ok: false, takes };
  const value = Number(text.trim());
  return value >= min && value <= max ? { ok: true, value } : { ok: false, takes };
}

/** `md or html`, `text, json or prometheus`. */
export function oneOf(values: readonly string[]): string {
  return values.length <= 1
    ? (values[0] ?? '')
    : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** How the option is written in a usage line and in `--help`: `--limit N`, `--format md|html`. */
export function optionSynopsis(name: string, spec: OptionSpec): string {
  const placeholder =
    spec.type === 'boolean'
      ? ''
      : spec.type === 'enum'
        ? ` ${spec.values.join('|')}`
        : spec.type === 'port'
          ? ' PORT'
          : ` ${spec.value}`;
  return `--${name}${placeholder}${spec.short ? `, -${spec.short}` : ''}`;
}
