/**
 * Secrets are never written in the plan: a field that holds one says where to find it,
 * `env:NAME` or `file:PATH`. Resolution happens only when an engine needs the value.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';

export const SECRET_REF_PATTERN = '^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$';
const secretRe = new RegExp(SECRET_REF_PATTERN);

export function isSecretRef(value: string): boolean {
  return secretRe.test(value);
}

/**
 * The value behind a reference. `file:` paths are relative to the plan's directory.
 * A plain string (for fields that allow one, such as a URL without credentials) is returned as is.
 */
export function resolveSecret(ref: string, planDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = env[name];
    if (value === undefined || value === '') {
      throw new UsageError(`environment variable ${name} is not set (the plan refers to it as ${ref})`, {
        hint: `export ${name}=... before running lifeboat, or point the plan at file:PATH instead`,
      });
    }
    return value;
  }
  if (ref.startsWith('file:')) {
    const path = resolve(planDir, ref.slice(5));
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (cause) {
      throw new UsageError(`cannot read secret file ${path} (the plan refers to it as ${ref})`, {
        cause,
        hint: 'check that the file exists and is readable by the user running lifeboat',
      });
    }
  }
  return ref;
}
