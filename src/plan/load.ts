/**
 * Reading a plan: file → YAML (with positions) → schema. Never throws for a bad plan:
 * it returns findings, each with a path, a line and a column. Only an unreadable file or
 * a usage mistake is an exception.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { formatPath, type Finding, type PathSegment } from './findings.js';
import { PositionIndex } from './positions.js';
import { PlanSchema, type Plan } from './schema.js';
import { SECRET_REF_PATTERN } from './secret.js';
import { closest, knownKeys, knownValues } from './schema-walk.js';

/** No real plan comes near this; a larger file is a mistake, and parsing it would only waste time. */
export const MAX_PLAN_BYTES = 2 * 1024 * 1024;

export interface LoadedPlan {
  /** Absolute path of the file. */
  file: string;
  text: string;
  /** sha256 of the file's bytes: the plan version that backups, drills and incidents attach to. */
  contentHash: string;
  /** The validated plan, or undefined when the schema rejected it. */
  plan: Plan | undefined;
  /** The parsed YAML as plain data, even when the schema rejected it. */
  data: unknown;
  findings: Finding[];
  positions: PositionIndex;
}

export const DEFAULT_PLAN_FILE = 'lifeboat.yaml';

/** The plan file named by --plan, $LIFEBOAT_PLAN, or ./lifeboat.yaml. */
export function planPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option || env.LIFEBOAT_PLAN || DEFAULT_PLAN_FILE);
}

export function loadPlanFile(file: string): LoadedPlan {
  let size: number;
  try {
    const stat = statSync(file);
    if (stat.isDirectory()) {
      throw new UsageError(`${file} is a directory, not a plan file`, {
        hint: `pass the file, e.g. --plan ${resolve(file, DEFAULT_PLAN_FILE)}`,
      });
    }
    size = stat.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `plan file not found: ${file}`
        : `cannot read plan file ${file}: ${code ?? String(error)}`,
      {
        cause: error,
        hint:
          code === 'ENOENT'
            ? 'pass --plan FILE, set LIFEBOAT_PLAN, or run in the directory that holds lifeboat.yaml'
            : 'check the file permissions',
      },
    );
  }
  if (size > MAX_PLAN_BYTES) {
    const lines = new LineCounter();
    return {
      file,
      text: '',
      contentHash: '',
      plan: undefined,
      data: undefined,
      positions: new PositionIndex(undefined, lines),
      findings: [
        {
          rule: 'file-too-large',
          severity: 'error',
          path: '',
          line: 1,
          column: 1,
          message: `the file is ${(size / 1024 / 1024).toFixed(1)} MiB; a plan is at most ${MAX_PLAN_BYTES / 1024 / 1024} MiB`,
          hint: 'is this the right file? Split generated data out of the plan.',
        },
      ],
    };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read plan file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
      cause: error,
      hint: 'check the file permissions',
    });
  }
  return parsePlan(text, file);
}

export function parsePlan(text: string, file = '<plan>'): LoadedPlan {
  const contentHash = createHash('sha256').update(text).digest('hex');
  const lines = new LineCounter();
  const base = { file, text, contentHash, plan: undefined, data: undefined };

  if (text.includes('\u0000')) {
    return {
      ...base,
      positions: new PositionIndex(undefined, lines),
      findings: [
        {
          rule: 'yaml-syntax',
          severity: 'error',
          path: '',
          line: 1,
          column: 1,
          message: 'the file is not text (it contains NUL bytes)',
          hint: 'is this the right file? A plan is a YAML text file',
        },
      ],
    };
  }

  if (text.trim() === '') {
    return {
      ...base,
      positions: new PositionIndex(undefined, lines),
      findings: [
        {
          rule: 'empty-plan',
          severity: 'error',
          path: '',
          line: 1,
          column: 1,
          message: 'the plan file is empty',
          hint: 'start from an example: examples/local/lifeboat.yaml, or `lifeboat plan schema` for the format',
        },
      ],
    };
  }

  // Aliases are capped (the default of 100) so that a "billion laughs" file fails fast.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const positions = new PositionIndex(doc, lines);
  const yamlFindings = syntaxFindings(doc, lines);
  if (yamlFindings.some((f) => f.severity === 'error')) return { ...base, positions, findings: yamlFindings };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = (error as Error).message;
    return {
      ...base,
      positions,
      findings: [
        {
          rule: 'yaml-aliases',
          severity: 'error',
          path: '',
          line: 1,
          column: 1,
          message: /alias/i.test(message)
            ? 'the YAML expands too many aliases (a resource-exhaustion pattern); refusing to expand it'
            : `the YAML cannot be read: ${message}`,
          hint: 'write the repeated parts out, or use fewer `*alias` references',
        },
      ],
    };
  }

  if (data === null || data === undefined) {
    const finding: Finding = {
      rule: 'empty-plan',
      severity: 'error',
      path: '',
      line: 1,
      column: 1,
      message: 'the plan file has no content, only comments',
      hint: 'start from an example: examples/local/lifeboat.yaml, or `lifeboat plan schema` for the format',
    };
    return { ...base, data, positions, findings: [finding] };
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    return {
      ...base,
      data,
      positions,
      findings: [
        {
          rule: 'invalid-type',
          severity: 'error',
          path: '',
          line: 1,
          column: 1,
          message: `the plan must be a mapping of keys (version, organization, services, ...), not ${describe(data)}`,
          hint: 'start from an example: examples/local/lifeboat.yaml',
        },
      ],
    };
  }

  let result: ReturnType<typeof PlanSchema.safeParse>;
  try {
    result = PlanSchema.safeParse(data);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const finding: Finding = {
      rule: 'yaml-syntax',
      severity: 'error',
      path: '',
      line: 1,
      column: 1,
      message: 'the YAML is nested too deeply to read',
    };
    return { ...base, data, positions, findings: [finding] };
  }
  if (result.success) return { ...base, data, plan: result.data, positions, findings: yamlFindings };
  const findings = result.error.issues.flatMap((issue) => schemaFindings(issue, data, positions));
  return { ...base, data, positions, findings: [...yamlFindings, ...dedupe(findings)] };
}

function syntaxFindings(doc: Document, lines: LineCounter): Finding[] {
  const toFinding =
    (severity: 'error' | 'warning') => (e: { message: string; pos: [number, number]; code: string }) => {
      const { line, col } = lines.linePos(e.pos[0]);
      const rule = e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax';
      return {
        rule,
        severity,
        path: '',
        line,
        column: col,
        message: /call stack/i.test(e.message)
          ? 'the YAML is nested too deeply to read'
          : firstLine(e.message),
        hint:
          rule === 'duplicate-key'
            ? 'each key may appear once in a mapping; merge the two'
            : 'check indentation and quoting near this line',
      } satisfies Finding;
    };
  return [...doc.errors.map(toFinding('error')), ...doc.warnings.map(toFinding('warning'))];
}

type Issue = z.core.$ZodIssue;

function schemaFindings(issue: Issue, data: unknown, positions: PositionIndex): Finding[] {
  const path: PathSegment[] = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  const where = formatPath(path);
  const prefix = where === '' ? '' : `${where}: `;
  const at = (p: readonly PathSegment[], key = false) =>
    positions.locate(p, { key }) ?? { line: 1, column: 1 };

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
      if (value === undefined) {
        return [
          {
            rule: 'missing-field',
            severity: 'error',
            path: where,
            ...at(path),
            message: `${prefix}required field is missing (expected ${issue.expected})`,
            hint: `add '${String(path[path.length - 1])}'`,
          },
        ];
      }
      const hint = formatHint(where, value);
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
        return [
          {
            rule: 'missing-field',
            severity: 'error',
            path: where,
            ...at(path),
            message: `${prefix}required field is missing (one of ${issue.values.map(String).join(', ')})`,
            hint: `add '${String(path[path.length - 1])}: ${String(issue.values[0])}'`,
          },
        ];
      }
      const allowed = issue.values.map(String);
      const suggestion = typeof value === 'string' ? closest(value, allowed) : undefined;
      return [
        {
          rule: 'invalid-value',
          severity: 'error',
          path: where,
          ...at(path),
          message: `${prefix}${JSON.stringify(value)} is not one of ${allowed.join(', ')}`,
          ...(suggestion ? { hint: `did you mean '${suggestion}'?` } : {}),
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
      const hint = formatHint(where, value);
      return [
        {
          rule: isSecretField(issue) ? 'inline-secret' : rule,
          severity: 'error',
          path: where,
          ...at(path),
          message: `${prefix}${issue.code === 'invalid_format' ? `${JSON.stringify(value)}: expected ${message}` : message}`,
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

function describe(value: unknown): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.rule}|${f.path}|${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
