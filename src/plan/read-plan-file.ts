/**
 * Reading a plan file's bytes: what cannot be read at all is a usage error (exit 2) that says
 * what to do; what can be read but is not a UTF-8 plan is a finding (exit 1) with a position.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { decodePlanBytes } from './decode.js';
import type { Finding } from './findings.js';

export type PlanBytes = { text: string; contentHash: string } | { finding: Finding; contentHash: string };

export function readPlanBytes(file: string, maxBytes: number): PlanBytes {
  let size: number;
  try {
    const stat = statSync(file);
    if (stat.isDirectory()) {
      throw new UsageError(`${file} is a directory, not a plan file`, {
        hint: `pass the file, e.g. --plan ${resolve(file, 'lifeboat.yaml')}`,
      });
    }
    // A pipe (`--plan <(generate-plan)`) is read to its end; a device or socket never ends.
    if (!stat.isFile() && !stat.isFIFO()) {
      throw new UsageError(`${file} is not a regular file`, { hint: 'pass the path of a YAML file' });
    }
    size = stat.size;
  } catch (error) {
    throw unreadable(file, error);
  }
  if (size > maxBytes) return { finding: tooLarge(size, maxBytes), contentHash: '' };
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw unreadable(file, error);
  }
  if (bytes.length > maxBytes) return { finding: tooLarge(bytes.length, maxBytes), contentHash: '' };
  // The hash is of the bytes, as documented: the version a backup or drill is attached to.
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  const decoded = decodePlanBytes(bytes);
  return 'finding' in decoded
    ? { finding: decoded.finding, contentHash }
    : { text: decoded.text, contentHash };
}

function tooLarge(size: number, maxBytes: number): Finding {
  return {
    rule: 'file-too-large',
    severity: 'error',
    path: '',
    line: 1,
    column: 1,
    message: `the file is ${(size / 1024 / 1024).toFixed(1)} MiB; a plan is at most ${maxBytes / 1024 / 1024} MiB`,
    hint: 'is this the right file? Split generated data out of the plan.',
  };
}

const REASONS: Record<string, { message: string; hint: string }> = {
  ENOENT: {
    message: 'plan file not found',
    hint: 'pass --plan FILE, set LIFEBOAT_PLAN, or run in the directory that holds lifeboat.yaml',
  },
  EACCES: {
    message: 'permission denied reading the plan file',
    hint: 'check the file permissions (and those of its directories) for the user running lifeboat',
  },
  EPERM: { message: 'permission denied reading the plan file', hint: 'check the file permissions' },
  ENOTDIR: {
    message: 'a part of the plan path is a file, not a directory',
    hint: 'check the path given to --plan',
  },
  ELOOP: { message: 'the plan path has a loop of symbolic links', hint: 'check the links on the path' },
  ENAMETOOLONG: { message: 'the plan path is too long', hint: 'check the path given to --plan' },
  EISDIR: { message: 'the plan path is a directory', hint: 'pass the YAML file inside it' },
};

function unreadable(file: string, error: unknown): UsageError {
  if (error instanceof UsageError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const reason = REASONS[code];
  return new UsageError(
    reason ? `${reason.message}: ${file}` : `cannot read plan file ${file}: ${code || String(error)}`,
    { cause: error, hint: reason?.hint ?? 'check that the file exists and can be read' },
  );
}
