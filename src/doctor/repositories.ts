/** Doctor: each repository's key file and whether the repository opens. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ProtectContext } from '../protect/context.js';
import {
  DEFAULT_REPOSITORY,
  repositoryAccess,
  type RepositoryAccessInfo,
} from '../protect/repository-access.js';
import { findRestic } from '../engines/restic/binary.js';
import { globalArgs, resticEnv } from '../engines/restic/command.js';
import { resticError } from '../engines/restic/errors.js';
import { createRedactor, redactUrl, secretEnvValues } from '../engines/restic/redact.js';
import { run } from '../engines/restic/run.js';
import { REPOSITORY_TIMEOUT_MS, failed, type DoctorCheck } from './check.js';
import { isProtectable } from '../stores/index.js';

/** The key file exists, only its owner can read it, and a copy should live elsewhere. */
export function checkKeyFile(info: RepositoryAccessInfo): DoctorCheck | undefined {
  if (!info.keyFile) return undefined;
  const { path, generated } = info.keyFile;
  const name = `key of repository ${info.id}`;
  if (!existsSync(path)) {
    if (generated && !repositoryExists(info)) {
      return {
        name,
        ok: true,
        warning: true,
        detail: `${path} does not exist yet; the first backup generates it`,
        fix: 'after the first backup, keep a copy of it outside this machine (a password manager, a safe)',
      };
    }
    return {
      name,
      ok: false,
      detail: `${path} is missing${generated ? ', but the repository exists: without its key nobody can read it' : ''}`,
      fix: generated
        ? `put your copy of the key back at ${path}`
        : `create ${path} holding the repository password, or fix password: in the plan`,
    };
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    return {
      name,
      ok: false,
      detail: `${path} has mode ${mode.toString(8).padStart(4, '0')}: other users can read the repository password`,
      fix: `chmod 600 ${path}`,
    };
  }
  return {
    name,
    ok: true,
    detail: `${path} (mode 0600). Keep a copy outside this machine: without it no backup can be read`,
  };
}

function repositoryExists(info: RepositoryAccessInfo): boolean {
  return info.local && existsSync(join(info.access.url, 'config'));
}

/**
 * The repository opens: `restic cat config` reads the config with the key, so a wrong
 * password, a missing repository and an unreachable server each give their own message.
 */
export async function checkRepository(
  info: RepositoryAccessInfo,
  options: { env: NodeJS.ProcessEnv; hasBackups: boolean; timeoutMs?: number },
): Promise<DoctorCheck> {
  const display = redactUrl(info.access.url);
  const name = `repository ${info.id}`;
  if (info.keyFile && !existsSync(info.keyFile.path)) {
    return info.keyFile.generated && !repositoryExists(info) && !options.hasBackups
      ? {
          name,
          ok: true,
          warning: true,
          detail: `${display} does not exist yet; the first backup creates it`,
        }
      : {
          name,
          ok: false,
          detail: `${display} cannot be opened without its key ${info.keyFile.path}`,
          fix: 'see the key check above',
        };
  }
  let binary;
  try {
    binary = await findRestic(options.env);
  } catch (error) {
    return failed(name, error, 'install restic');
  }
  const timeoutMs = options.timeoutMs ?? REPOSITORY_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const redact = createRedactor([info.access.password, ...secretEnvValues(info.access.env)]);
  const result = await run(binary.path, [...globalArgs(info.access), '--no-lock', 'cat', 'config'], {
    env: resticEnv(info.access, options.env),
    signal,
  });
  if (result.code === 0) {
    const version = /"version":\s*(\d+)/.exec(result.stdout)?.[1];
    return { name, ok: true, detail: `${display} opens (repository format ${version ?? '?'})` };
  }
  if (signal.aborted) {
    return {
      name,
      ok: false,
      detail: `${display} did not answer within ${timeoutMs / 1000} s`,
      fix: 'check that the repository server is running and reachable from here (network, firewall, DNS)',
    };
  }
  const error = resticError({
    operation: 'cat config',
    repository: display,
    exitCode: result.code,
    signal: result.signal,
    stderr: redact(result.stderr),
  });
  if (error.details?.reason === 'repository-missing' && info.keyFile?.generated && !options.hasBackups) {
    return {
      name,
      ok: true,
      warning: true,
      detail: `${display} does not exist yet; the first backup creates it`,
    };
  }
  return { name, ok: false, detail: error.message, ...(error.hint ? { fix: error.hint } : {}) };
}

export async function checkRepositories(
  context: ProtectContext,
  env: NodeJS.ProcessEnv,
  timeoutMs?: number,
): Promise<DoctorCheck[]> {
  const datasets = Object.entries(context.plan.datasets ?? {}).filter(([, d]) => isProtectable(d.source));
  const declared = Object.entries(context.plan.repositories ?? {})
    .filter(([, r]) => r.type !== 'pgbackrest')
    .map(([id]) => id);
  const used = datasets.map(([id]) => context.repositoryOf(id));
  const ids = [
    ...new Set([...declared, ...used.filter((id) => id === DEFAULT_REPOSITORY || declared.includes(id))]),
  ];
  const state = await context.state().catch(() => undefined);
  const results = await Promise.all(
    ids.map(async (id) => {
      let info: RepositoryAccessInfo;
      try {
        info = repositoryAccess(context.plan, id, context);
      } catch (error) {
        return [failed(`repository ${id}`, error, 'fix the repository in the plan')];
      }
      // A repository that already holds recovery points must exist: "not created yet" would hide its loss.
      let hasBackups = false;
      for (const [dataset] of datasets.filter(([d]) => context.repositoryOf(d) === id)) {
        if (await state?.latestCompleteSnapshot(dataset).catch(() => undefined)) hasBackups = true;
      }
      const key = checkKeyFile(info);
      const repo = await checkRepository(info, { env, hasBackups, ...(timeoutMs ? { timeoutMs } : {}) });
      return [...(key ? [key] : []), repo];
    }),
  );
  return results.flat();
}
