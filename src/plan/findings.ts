/** A finding is one thing `plan check` reports: a schema error or a rule's verdict. */
/** `info` tells what the plan means for Lifeboat without asking for a change. */
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  /** Stable id of the rule, e.g. `rpo-cadence`, `unknown-key`. */
  rule: string;
  severity: Severity;
  /** Starts with the YAML path, so the message alone says where. */
  message: string;
  /** Dot path in the plan, e.g. `datasets.user-data.backup.every`; empty for the whole file. */
  path: string;
  line?: number;
  column?: number;
  /** What to do about it. */
  hint?: string;
}

export type PathSegment = string | number;

/** `['datasets', 'user-data', 'backup']` → `datasets.user-data.backup`; indices as `[0]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || a.rule.localeCompare(b.rule),
  );
}
