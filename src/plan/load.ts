/**
 * Reading a plan: file → YAML (with positions) → schema. Never throws for a bad plan:
 * it returns findings, each with a path, a line and a column. Only an unreadable file or
 * a usage mistake is an exception.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { UsageError } from '../errors.js';
import type { Finding } from './findings.js';
import { normaliseDurations } from './duration-fields.js';
import { PositionIndex } from './positions.js';
import { PlanSchema, type Plan } from './schema.js';
import { dedupe, describe, schemaFindings } from './schema-findings.js';

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
    data = normaliseDurations(data);
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

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
