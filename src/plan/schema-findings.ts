/**
 * Turns zod's issues into findings a person can act on: the YAML path, the line and column,
 * what was expected in words, and a hint (the likely key for a typo, the allowed values).
 */
import type { z } from 'zod';
import { formatPath, type Finding, type PathSegment } from './findings.js';
import type { PositionIndex } from './positions.js';
import { PlanSchema } from './schema.js';
import { isDurationField } from './duration-fields.js';
import { closest, knownKeys, knownValues } from './schema-walk.js';
import { SECRET_REF_PATTERN } from './secret.js';

type Issue = z.core.$ZodIssue;

export function schemaFindings(issue: Issue, data: unknown, positions: PositionIndex): Finding[] {
  const path: PathSegment[] = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  const where = formatPath(path);
  const prefix = where === '' ? '' : `${where}: `;
  const at = (p: readonly PathSegment[], key = false) =>
    positions.locate(p, { key }) ?? { line: 1, column: 1 };
  const missing = (expected: string, hint: string): Finding => ({
    rule: 'missing-field',
    severity: 'error',
    path: where,
    ...at(path),
    message: `${prefix}required field is missing (${expected})`,
    hint,
  });

  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const suggestion = closest(key, knownKeys(PlanSchema, path));
        const known = knownKeys(PlanSchema, path);
        return {
          rule: 'unknown-key',
          severity: 'error',
          path: formatPath([...path, key]),
          ...at([...path, key], true),
          message: `${formatPath([...path, key])}: unknown key '${key}'`,
          hint: suggestion ? `did you mean '${suggestion}'?` : `known keys here: ${known.join(', ')}`,
        } satisfies Finding;
      });
    case 'invalid_type': {
      const value = valueAt(data, path);
      if (value === undefined)
        return [missing(`expected ${issue.expected}`, `add '${String(path[path.length - 1])}'`)];
      if (typeof value === 'number' && isDurationField(path))
        return [
          {
            rule: 'invalid-type',
            severity: 'error',
            path: where,
            ...at(path),
            message: `${prefix}${value} has no unit: a duration is a number and a unit`,
            hint: `write the unit, e.g. '${value}s' or '${value}m' (quotes are optional); only 0 may stand alone`,
          },
        ];
      const hint =
        quotedScalarHint(issue.expected, value) ??
        formatHint(where, value) ??
        (issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')
          ? `put it in quotes to mean the text: "${String(value)}"`
          : undefined);
      return [
        {
          rule: 'invalid-type',
          severity: 'error',
          path: where,
          ...at(path),
          message: `${prefix}expected ${issue.expected}, got ${describe(value)}`,
          ...(hint ? { hint } : {}),
        },
      ];
    }
    case 'invalid_value': {
      const value = valueAt(data, path);
      if (value === undefined) {
        const allowed = issue.values.map(String);
        return [
          missing(`one of ${allowed.join(', ')}`, `add '${String(path[path.length - 1])}: ${allowed[0]}'`),
        ];
      }
      const allowed = issue.values.map(String);
      const suggestion = typeof value === 'string' ? closest(value, allowed) : undefined;
      // `version: "1"` where the number 1 is meant: the quotes are the mistake, not the value.
      const quoted =
        typeof value === 'string' && issue.values.some((v) => typeof v !== 'string' && String(v) === value);
      return [
        {
          rule: 'invalid-value',
          severity: 'error',
          path: where,
          ...at(path),
          message: `${prefix}${JSON.stringify(value)} is not one of ${allowed.join(', ')}`,
          ...(quoted
            ? { hint: `write it without quotes: ${String(path[path.length - 1])}: ${String(value)}` }
            : suggestion
              ? { hint: `did you mean '${suggestion}'?` }
              : {}),
        },
      ];
    }
    case 'invalid_union': {
      const discriminator = (issue as { discriminator?: string }).discriminator;
      if (discriminator) {
        // zod may or may not have put the discriminator on the path already.
        if (path[path.length - 1] === discriminator) path.pop();
        const allowed = knownValues(PlanSchema, [...path, discriminator]);
        const value = valueAt(data, [...path, discriminator]);
        const suggestion = typeof value === 'string' ? closest(value, allowed) : undefined;
        return [
          {
            rule: value === undefined ? 'missing-field' : 'invalid-value',
            severity: 'error',
            path: formatPath([...path, discriminator]),
            ...at([...path, discriminator]),
            message:
              value === undefined
                ? `${formatPath([...path, discriminator])}: required field is missing (one of ${allowed.join(', ')})`
                : `${formatPath([...path, discriminator])}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`,
            ...(suggestion ? { hint: `did you mean '${suggestion}'?` } : {}),
          },
        ];
      }
      // A union such as `x | x[]` or `name | {object}`: report the branch that got furthest,
      // i.e. the one whose complaint is not merely "wrong type here".
      const branches = issue.errors;
      const deepest = branches
        .filter(
          (branch) =>
            branch.length > 0 && !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
        )
        .sort(
          (a, b) => Math.max(...b.map((i) => i.path.length)) - Math.max(...a.map((i) => i.path.length)),
        )[0];
      if (deepest && deepest.length > 0) {
        return deepest.flatMap((inner) =>
          schemaFindings({ ...inner, path: [...issue.path, ...inner.path] } as Issue, data, positions),
        );
      }
      return [
        {
          rule: 'invalid-type',
          severity: 'error',
          path: where,
          ...at(path),
          message: `${prefix}${describe(valueAt(data, path))} is not accepted here (${unionSummary(branches)})`,
        },
      ];
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      const key = String(path[path.length - 1]);
      return [
        {
          rule: 'invalid-value',
          severity: 'error',
          path: where,
          ...at(path, true),
          message: `${prefix}'${key}' is not a valid key here: ${inner?.message ?? issue.message}`,
        },
      ];
    }
    case 'invalid_format':
    case 'too_small':
    case 'too_big':
    case 'custom':
    case 'invalid_element':
    case 'not_multiple_of':
    default: {
      const value = valueAt(data, path);
      const rule = issue.code === 'invalid_format' ? 'invalid-format' : 'invalid-value';
      const message =
        issue.code === 'invalid_format' && issue.message.startsWith('Invalid')
          ? `${JSON.stringify(value)} is not valid`
          : issue.message;
      // A pattern's message is a noun ("a duration such as `30s`") or a sentence ("an id is
      // letters, ..."); the sentence does not follow "expected".
      const expected = / is /.test(message) ? `not valid here: ${message}` : `expected ${message}`;
      const hint = formatHint(where, value);
      return [
        {
          rule: isSecretField(issue) ? 'inline-secret' : rule,
          severity: 'error',
          path: where,
          ...at(path),
          message: `${prefix}${issue.code === 'invalid_format' ? `${JSON.stringify(value)}: ${expected}` : message}`,
          ...(hint ? { hint } : {}),
        },
      ];
    }
  }
}

/** A value that failed the secret-reference pattern is a secret written in clear. */
function isSecretField(issue: Issue): boolean {
  return issue.code === 'invalid_format' && (issue as { pattern?: string }).pattern === SECRET_PATTERN_SOURCE;
}
const SECRET_PATTERN_SOURCE = String(new RegExp(SECRET_REF_PATTERN));

/** A number or a boolean written as text (`"7"`, `"yes"`): say how YAML reads it. */
function quotedScalarHint(expected: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (expected === 'number' && value.trim() !== '' && Number.isFinite(Number(value)))
    return `write the number without quotes: ${value.trim()}`;
  if (expected === 'boolean') {
    if (value === 'true' || value === 'false') return `write it without quotes: ${value}`;
    return 'write true or false (YAML reads yes, no, on and off as text)';
  }
  return undefined;
}

function formatHint(where: string, value: unknown): string | undefined {
  if (typeof value === 'number' && /every|timeout|rto|rpo|lag|wait|interval/.test(where))
    return `a duration needs a unit and quotes are optional, e.g. '${value}s' or '${value}m'`;
  if (typeof value === 'string' && /^\d+$/.test(value)) return `add a unit, e.g. '${value}m' or '${value}h'`;
  if (typeof value === 'string' && /\d\s+(s|m|h|d|w|min|minutes?|hours?|days?)$/.test(value))
    return `write durations without spaces and with a unit letter, e.g. '4h', '15m'`;
  if (typeof value === 'string' && /(minute|hour|day|week)s?$/.test(value))
    return `use unit letters: s, m, h, d, w (e.g. '4h')`;
  if (/password|key|webhook|smtp|secret|token/.test(where))
    return 'put the secret in an environment variable and write `env:NAME` (or `file:PATH`)';
  return undefined;
}

function unionSummary(branches: Issue[][]): string {
  const expected = new Set<string>();
  for (const branch of branches)
    for (const i of branch) if (i.code === 'invalid_type') expected.add(i.expected);
  return expected.size > 0 ? `expected ${[...expected].join(' or ')}` : 'see the reference in docs/plan.md';
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

export function describe(value: unknown): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.rule}|${f.path}|${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
