/**
 * Reading a plan: file → YAML (with positions) → schema. Never throws for a bad plan:
 * it returns findings, each with a path, a line and a column. Only an unreadable file or
 * a usage mistake is an exception.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Finding } from './findings.js';
import { normaliseDurations } from './duration-fields.js';
import { PositionIndex } from './positions.js';
import { PlanSchema, type Plan } from './schema.js';
import { dedupe, describe, schemaFindings } from './schema-findings.js';
import { withOwnKeysOnly } from './own-keys.js';
import { readPlanBytes } from './read-plan-file.js';
import { yamlErrorFindings } from './yaml-errors.js';
import { yamlStructureFindings } from './yaml-structure.js';

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
  const read = readPlanBytes(file, MAX_PLAN_BYTES);
  if ('finding' in read) return { ...rejected(file, read.finding), contentHash: read.contentHash };
  return { ...parsePlan(read.text, file), contentHash: read.contentHash };
}

/** A file refused before its YAML is read: one finding, no data. */
function rejected(file: string, finding: Finding): LoadedPlan {
  const lines = new LineCounter();
  return {
    file,
    text: '',
    contentHash: '',
    plan: undefined,
    data: undefined,
    positions: new PositionIndex(undefined, lines),
    findings: [finding],
  };
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

  // Duplicate keys, depth and aliases are checked by yamlStructureFindings, in one linear walk.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const positions = new PositionIndex(doc, lines);
  let yamlFindings = yamlErrorFindings(doc, lines);
  if (!yamlFindings.some((f) => f.severity === 'error'))
    yamlFindings = [...yamlFindings, ...yamlStructureFindings(doc, lines)];
  if (yamlFindings.some((f) => f.severity === 'error')) return { ...base, positions, findings: yamlFindings };

  let data: unknown;
  try {
    // The structure walk bounded what aliases expand to; the library's own count refuses
    // plans that merely reuse one anchor a hundred times.
    data = doc.toJS({ maxAliasCount: -1 });
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
  if (result.success)
    return { ...base, data, plan: withOwnKeysOnly(result.data), positions, findings: yamlFindings };
  const findings = result.error.issues.flatMap((issue) => schemaFindings(issue, data, positions));
  return { ...base, data, positions, findings: [...yamlFindings, ...dedupe(findings)] };
}
