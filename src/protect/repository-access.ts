/**
 * How restic opens one of the plan's repositories: its URL (relative paths against the plan),
 * its password or key file, its environment. Pure: `context.ts` opens repositories with it
 * (generating a key only for a repository that does not exist yet and has no recorded
 * backups) and `doctor` inspects it without creating anything, since a silently regenerated
 * key would hide a lost one.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import { resolveSecret } from '../plan/secret.js';
import type { RepositoryAccess } from '../engines/restic/command.js';

/** The repository a dataset uses when its plan names none. */
export const DEFAULT_REPOSITORY = 'local';

export interface RepositoryAccessInfo {
  id: string;
  access: RepositoryAccess;
  /** Set when the password is a file: a generated key (`generated`) or one the plan names. */
  keyFile?: { path: string; generated: boolean };
  /** A path on this machine rather than a remote backend. */
  local: boolean;
}

export interface AccessContext {
  planDir: string;
  /** `.lifeboat/` beside the plan. */
  homeDir: string;
  env: NodeJS.ProcessEnv;
}

export function repositoryAccess(plan: Plan, id: string, where: AccessContext): RepositoryAccessInfo {
  const config = plan.repositories?.[id];
  if (!config) {
    if (id !== DEFAULT_REPOSITORY) {
      throw new UsageError(`unknown repository '${id}'`, {
        hint: `declare it under repositories, or use '${DEFAULT_REPOSITORY}' (a local repository under .lifeboat/)`,
      });
    }
    const path = join(where.homeDir, 'repository.key');
    return {
      id,
      access: { url: join(where.homeDir, 'repository'), passwordFile: path },
      keyFile: { path, generated: true },
      local: true,
    };
  }
  if (config.type === 'pgbackrest') {
    throw new UsageError(`repository '${id}' is a pgBackRest repository; restic commands cannot use it`);
  }
  const local = isLocalPath(config.url);
  const env = Object.fromEntries(
    Object.entries(config.env ?? {}).map(([name, ref]) => [
      name,
      resolveSecret(ref, where.planDir, where.env),
    ]),
  );
  const common = {
    url: local ? resolve(where.planDir, config.url) : config.url,
    env,
    ...(config.cacert ? { cacert: resolve(where.planDir, config.cacert) } : {}),
  };
  const password = config.password;
  if (password?.startsWith('file:')) {
    const path = resolve(where.planDir, password.slice(5));
    return { id, access: { ...common, passwordFile: path }, keyFile: { path, generated: false }, local };
  }
  if (password) {
    return { id, access: { ...common, password: resolveSecret(password, where.planDir, where.env) }, local };
  }
  const path = join(where.homeDir, `${id}.key`);
  return { id, access: { ...common, passwordFile: path }, keyFile: { path, generated: true }, local };
}

/** restic URLs with a backend prefix (`s3:`, `sftp:`, `rest:`, ...) are not paths. */
function isLocalPath(url: string): boolean {
  return isAbsolute(url) || url.startsWith('.') || !/^[a-z0-9]+:/i.test(url);
}
