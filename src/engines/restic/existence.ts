/**
 * Whether a restic repository exists, asked without its key: a generated key must never be
 * made for a repository that exists, since the new key would not open it and would take the
 * lost key's place. A local repository exists when its `config` file does; any other is asked
 * `restic cat config` with a throwaway password, to which an existing repository answers
 * "wrong password" and a missing one "does not exist".
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findRestic } from './binary.js';
import { globalArgs, resticEnv, type RepositoryAccess } from './command.js';
import { classifyResticFailure, resticError } from './errors.js';
import { createRedactor, redactUrl, secretEnvValues, stripUrlCredentials } from './redact.js';
import { run } from './run.js';

/** A path on this machine rather than a backend URL (`s3:`, `sftp:`, `rest:`, ...). */
export function isLocalRepositoryUrl(url: string): boolean {
  return url.startsWith('/') || url.startsWith('.') || !/^[a-z0-9]+:/i.test(url);
}

/**
 * True when the repository exists, false when it does not. Throws the classified error when
 * the answer is neither (an unreachable server): not knowing is no licence to make a key.
 */
export async function resticRepositoryExists(
  access: RepositoryAccess,
  parentEnv: NodeJS.ProcessEnv,
  options: { timeoutMs?: number } = {},
): Promise<boolean> {
  if (isLocalRepositoryUrl(access.url)) return existsSync(join(access.url, 'config'));
  const binary = await findRestic(parentEnv);
  const probe: RepositoryAccess = { ...access, password: randomBytes(24).toString('base64url') };
  delete probe.passwordFile;
  const result = await run(binary.path, [...globalArgs(probe), '--no-lock', 'cat', 'config'], {
    env: resticEnv(probe, parentEnv),
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  });
  // A repository opened with a random password: only possible without encryption, which restic has not.
  if (result.code === 0) return true;
  const kind = classifyResticFailure(result.code, result.stderr);
  if (kind === 'wrong-password') return true;
  if (kind === 'repository-missing') return false;
  const redact = createRedactor([access.password, ...secretEnvValues(access.env)], {
    known: [redactUrl(access.url), stripUrlCredentials(access.url)],
  });
  throw resticError({
    operation: 'cat config',
    repository: redactUrl(access.url),
    exitCode: result.code,
    signal: result.signal,
    stderr: redact(result.stderr),
    rawStderr: result.stderr,
  });
}
