/**
 * What every protect operation needs, built once from a loaded plan: where the plan's own
 * files live (`.lifeboat/` beside it), its repositories as restic handles, its datasets'
 * sources with secrets resolved, and the state store, opened only when first asked for.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EnvironmentError, UsageError, coerceError } from '../errors.js';
import type { LoadedPlan } from '../plan/load.js';
import type { Dataset, Plan, SourceConfig } from '../plan/schema.js';
import { resolveSecret } from '../plan/secret.js';
import type { StateStore } from '../state/store.js';
import { repositoryAccess, type RepositoryAccessInfo } from './repository-access.js';
import { ensurePrivateDir } from '../state/private-files.js';
import { datasetRepository } from './methods/kind.js';
import type { ResticRepository } from '../engines/restic/repository.js';
import { isProtectable, protectableKindList, storeFor, type Store } from '../stores/index.js';

export { DEFAULT_REPOSITORY } from './repository-access.js';

/**
 * A dataset resolved once for a use case: looked up in the plan, its repository and method
 * decided, its source's secrets read only when asked. Use cases take this instead of an id
 * they would look up again at every level.
 */
export interface DatasetHandle {
  id: string;
  dataset: Dataset;
  /** Repository id the dataset backs up to. */
  repositoryId: string;
  /** `logical`: the source's dump streamed into restic. `physical`: pgBackRest. */
  method: 'logical' | 'physical';
  /** The source config with `env:`/`file:` references replaced by their values. */
  source(): SourceConfig;
  /** The driver of the dataset's kind of source (a UsageError like `source()` when Lifeboat cannot read it). */
  store(): Store;
}

export interface ProtectContext {
  plan: Plan;
  loaded: LoadedPlan;
  planDir: string;
  /** `.lifeboat/` beside the plan (or $LIFEBOAT_HOME): state, default repository, locks. */
  homeDir: string;
  env: NodeJS.ProcessEnv;
  state(): Promise<StateStore>;
  repository(id: string): Promise<ResticRepository>;
  /** Repository id a dataset backs up to. */
  repositoryOf(datasetId: string): string;
  /** The dataset, or a UsageError naming the known ones. */
  dataset(id: string): Dataset;
  /** The dataset's source config with `env:`/`file:` references replaced by their values. */
  resolvedSource(id: string): SourceConfig;
  /** The dataset resolved once (a UsageError naming the known ones when there is none). */
  handle(id: string): DatasetHandle;
  close(): Promise<void>;
}

export interface ContextOptions {
  /**
   * A dry run: nothing may be created. A state store that does not exist yet is opened
   * empty in memory, and a repository key is never generated (a repository with no key yet
   * is reported as not created). Default: false.
   */
  dryRun?: boolean;
}

export function createProtectContext(
  loaded: LoadedPlan,
  env: NodeJS.ProcessEnv = process.env,
  options: ContextOptions = {},
): ProtectContext {
  const plan = loaded.plan;
  if (!plan)
    throw new UsageError(`${loaded.file} is not a valid plan; run \`lifeboat plan check\` to see why`);
  const planDir = dirname(loaded.file);
  const homeDir = resolve(env.LIFEBOAT_HOME ?? join(planDir, '.lifeboat'));
  let statePromise: Promise<StateStore> | undefined;
  const repositories = new Map<string, Promise<ResticRepository>>();

  const context: ProtectContext = {
    plan,
    loaded,
    planDir,
    homeDir,
    env,
    state() {
      statePromise ??= (async () => {
        const { openStateStore } = await import('../state/store.js');
        const path = join(homeDir, 'state.db');
        if (options.dryRun && !env.LIFEBOAT_DATABASE_URL && !existsSync(path)) {
          const { IN_MEMORY } = await import('../state/sqlite.js');
          return openStateStore({ path: IN_MEMORY, env });
        }
        mkdirSync(homeDir, { recursive: true });
        const store = await openStateStore({ path, env });
        return store;
      })();
      return statePromise;
    },
    repository(id) {
      let repo = repositories.get(id);
      if (!repo) {
        repo = openRepository(plan, id, {
          planDir,
          homeDir,
          env,
          state: () => context.state(),
          dryRun: options.dryRun === true,
        });
        repositories.set(id, repo);
        // A missing key put back is found at the next attempt (the scheduler's next tick).
        repo.catch(() => repositories.delete(id));
      }
      return repo;
    },
    repositoryOf(datasetId) {
      return datasetRepository(context.dataset(datasetId));
    },
    dataset(id) {
      const dataset = plan.datasets?.[id];
      if (!dataset) {
        const known = Object.keys(plan.datasets ?? {});
        throw new UsageError(`unknown dataset '${id}'`, {
          hint:
            known.length > 0
              ? `the plan's datasets are: ${known.join(', ')}`
              : 'the plan declares no datasets',
        });
      }
      return dataset;
    },
    resolvedSource(id) {
      const source = context.dataset(id).source;
      if (!source || !isProtectable(source)) {
        throw new UsageError(`dataset '${id}' has no source Lifeboat can read`, {
          hint: `give it \`source:\` (${protectableKindList()}) in the plan`,
        });
      }
      if ('url' in source) return { ...source, url: resolveSecret(source.url, planDir, env) };
      return source;
    },
    handle(id) {
      const dataset = context.dataset(id);
      let source: SourceConfig | undefined;
      return {
        id,
        dataset,
        repositoryId: context.repositoryOf(id),
        method: dataset.backup?.method === 'physical' ? 'physical' : 'logical',
        source: () => (source ??= context.resolvedSource(id)),
        store: () => storeFor((source ??= context.resolvedSource(id)).type, id),
      };
    },
    async close() {
      if (statePromise) await (await statePromise).close();
    },
  };
  return context;
}

/** A dry run met a repository whose key the first backup would make: there is nothing in it. */
export class RepositoryNotCreatedError extends EnvironmentError {}

async function openRepository(
  plan: Plan,
  id: string,
  where: {
    planDir: string;
    homeDir: string;
    env: NodeJS.ProcessEnv;
    state: () => Promise<StateStore>;
    dryRun: boolean;
  },
): Promise<ResticRepository> {
  const { ResticRepository } = await import('../engines/restic/repository.js');
  const { planDir, homeDir, env } = where;
  const info = repositoryAccess(plan, id, { planDir, homeDir, env });
  if (info.keyFile?.generated && where.dryRun && !existsSync(info.keyFile.path))
    throw new RepositoryNotCreatedError(
      `repository ${info.id} has no key yet: nothing was ever backed up into it (a dry run creates none)`,
      { hint: 'run lifeboat backup first', details: { repository: info.id } },
    );
  if (info.keyFile?.generated) await ensureKeyFile(info, where);
  return new ResticRepository({ ...info.access, lockDir: join(homeDir, 'locks'), parentEnv: env });
}

/**
 * A generated repository key, kept beside the state (never in the plan). Made only for a
 * repository that does not exist yet and that the state store has no record of: for any
 * other, a missing key is a lost key, and a new one would not open the repository while
 * taking the lost one's place (restic would then say only "wrong password").
 */
async function ensureKeyFile(
  info: RepositoryAccessInfo,
  where: { homeDir: string; env: NodeJS.ProcessEnv; state: () => Promise<StateStore> },
): Promise<void> {
  const path = info.keyFile!.path;
  ensurePrivateDir(where.homeDir);
  if (!existsSync(path)) {
    const known = await (await where.state()).hasSnapshotsIn(info.id);
    const { resticRepositoryExists } = await import('../engines/restic/existence.js');
    if (known || (await resticRepositoryExists(info.access, where.env))) {
      throw missingKeyError(info, known ? 'the state store records backups in it' : 'the repository exists');
    }
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeKey(path);
  }
  chmodSync(path, 0o600);
}

function writeKey(path: string): void {
  try {
    writeFileSync(path, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // A key cut short by a full disk would be taken for the key at the next run.
    rmSync(path, { force: true });
    throw new EnvironmentError(`cannot write the repository key ${path}: ${coerceError(error).message}`, {
      cause: error,
      details: { path },
      hint: `free space on (or make writable) the file system that holds ${dirname(path)}, then retry`,
    });
  }
}

function missingKeyError(info: RepositoryAccessInfo, why: string): EnvironmentError {
  const path = info.keyFile!.path;
  return new EnvironmentError(
    `the key of repository ${info.id} is missing: expected at ${path}, and ${why}; ` +
      'Lifeboat does not make a new key for it, since a new key cannot open it',
    {
      details: { repository: info.id, keyFile: path },
      hint:
        `put back at ${path} the copy of the key you kept outside this machine when it was generated ` +
        '(see "Find the repository and its key" in docs/recover-without-lifeboat.md), then chmod 600 it',
    },
  );
}
