/** Prints findings the way compilers do (`file:line:col`), so editors and terminals link them. */
import { relative } from 'node:path';
import type { Finding } from '../plan/findings.js';

export function formatFinding(file: string, finding: Finding): string {
  const where = `${displayPath(file)}:${finding.line ?? 1}:${finding.column ?? 1}`;
  const hint = finding.hint ? `\n    hint: ${finding.hint}` : '';
  return `${where}: ${finding.severity} [${finding.rule}] ${finding.message}${hint}`;
}

export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || rel === '' ? file : rel;
}
