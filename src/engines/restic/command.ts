/**
 * Pure planning of restic invocations: the environment and the argument lists. Kept apart
 * from the code that runs them so that what Lifeboat would run for either restic
 * generation can be tested without that restic.
 *
 * Secrets never go on a command line (where `ps` shows them): the repository URL, which
 * may carry credentials, goes in RESTIC_REPOSITORY and the password in RESTIC_PASSWORD or
 * RESTIC_PASSWORD_FILE.
 */
import { UsageError } from '../../errors.js';
import type { ResticFeatures } from './binary.js';

export const PENDING_TAG = 'lifeboat:pending';
export const COMPLETE_TAG = 'lifeboat:complete';

export interface RepositoryAccess {
  url: string;
  passwordFile?: string;
  password?: string;
  env?: Record<string, string>;
  cacert?: string;
  insecureTls?: boolean;
  cacheDir?: string;
}

// restic settings that only tune performance may come from the user's environment; any
// other RESTIC_* variable (repository, password, host filter, ...) would change what a
// command does behind Lifeboat's back.
const INHERITED_RESTIC_VARS = new Set([
  'RESTIC_CACHE_DIR',
  'RESTIC_COMPRESSION',
  'RESTIC_PACK_SIZE',
  'RESTIC_READ_CONCURRENCY',
  'RESTIC_PROGRESS_FPS',
]);

/** The parent's environment without the RESTIC_* variables that would change a command's meaning. */
export function baseEnv(parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (name.startsWith('RESTIC_') && !INHERITED_RESTIC_VARS.has(name)) continue;
    env[name] = value;
  }
  return env;
}

/** The environment of a restic child: who the repository is and how to open it. */
export function resticEnv(access: RepositoryAccess, parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...baseEnv(parent),
    ...access.env,
    RESTIC_REPOSITORY: access.url,
    ...(access.passwordFile !== undefined
      ? { RESTIC_PASSWORD_FILE: access.passwordFile }
      : { RESTIC_PASSWORD: access.password ?? '' }),
  };
}

/** Flags every restic command gets. */
export function globalArgs(access: RepositoryAccess): string[] {
  return [
    ...(access.cacert ? [`--cacert=${access.cacert}`] : []),
    ...(access.insecureTls ? ['--insecure-tls'] : []),
    ...(access.cacheDir ? [`--cache-dir=${access.cacheDir}`] : []),
  ];
}

/** Tags must be non-empty and free of commas: restic splits `--tag a,b` at commas. */
export function checkTags(tags: string[], what = 'tag'): void {
  for (const tag of tags) {
    if (tag === '' || tag.includes(',') || /\s/.test(tag)) {
      throw new UsageError(
        `invalid restic ${what} ${JSON.stringify(tag)}: a tag is a non-empty word without commas`,
      );
    }
    if (tag === PENDING_TAG || tag === COMPLETE_TAG) {
      throw new UsageError(`the tag ${tag} is Lifeboat's own and cannot be set by hand`);
    }
  }
}

/** A snapshot id or a unique prefix of one: hex only, so that it can never read as a flag. */
export function checkSnapshotId(id: string): void {
  if (!/^[0-9a-f]{4,64}$/.test(id)) {
    throw new UsageError(`invalid restic snapshot id ${JSON.stringify(id)}: expected 4 to 64 hex digits`);
  }
}

export function checkFilename(filename: string): void {
  if (
    filename === '' ||
    filename === '.' ||
    filename === '..' ||
    filename.includes('/') ||
    filename.includes('\0')
  ) {
    throw new UsageError(
      `invalid file name ${JSON.stringify(filename)} for a stream backup: expected a plain name`,
    );
  }
}

export interface Producer {
  command: string;
  args: string[];
  /** Added to the producer's environment (which is Lifeboat's, less restic's variables). */
  env?: Record<string, string>;
}

export interface StreamBackupPlan {
  /** `pipe`: Lifeboat runs the producer and pipes it into `restic backup --stdin`.
   *  `restic`: restic runs it (`--stdin-from-command`) and fails the backup if it fails. */
  mode: 'pipe' | 'restic';
  args: string[];
  /** Extra environment for restic (the producer's, when restic runs the producer). */
  resticEnv: Record<string, string>;
}

/**
 * How to run a stream backup. With restic 0.17+ restic runs the producer itself. The
 * producer then inherits restic's environment, so it is started through `env -u` to drop
 * the repository's secrets; if the producer needs a variable of the same name as one of
 * the repository's, the two cannot be told apart and Lifeboat pipes instead.
 */
export function planStreamBackup(
  features: ResticFeatures,
  access: RepositoryAccess,
  input: { producer: Producer; filename: string; tags: string[]; host?: string },
): StreamBackupPlan {
  checkFilename(input.filename);
  checkTags(input.tags);
  const common = [
    'backup',
    '--json',
    `--stdin-filename=${input.filename}`,
    `--tag=${[PENDING_TAG, ...input.tags].join(',')}`,
    ...(input.host ? [`--host=${input.host}`] : []),
  ];
  const repositoryVars = [
    'RESTIC_REPOSITORY',
    'RESTIC_PASSWORD',
    'RESTIC_PASSWORD_FILE',
    ...Object.keys(access.env ?? {}),
  ];
  const producerVars = Object.keys(input.producer.env ?? {});
  const clash = producerVars.some((name) => repositoryVars.includes(name));
  if (!features.stdinFromCommand || clash) {
    return { mode: 'pipe', args: [...common, '--stdin'], resticEnv: {} };
  }
  const unset = repositoryVars.flatMap((name) => ['-u', name]);
  return {
    mode: 'restic',
    args: [
      ...common,
      '--stdin-from-command',
      '--',
      'env',
      ...unset,
      input.producer.command,
      ...input.producer.args,
    ],
    resticEnv: { ...input.producer.env },
  };
}

export function planPathsBackup(input: {
  paths: string[];
  tags: string[];
  exclude?: string[];
  host?: string;
}): string[] {
  checkTags(input.tags);
  if (input.paths.length === 0) throw new UsageError('a paths backup needs at least one path');
  return [
    'backup',
    '--json',
    `--tag=${[PENDING_TAG, ...input.tags].join(',')}`,
    ...(input.host ? [`--host=${input.host}`] : []),
    ...(input.exclude ?? []).map((pattern) => `--exclude=${pattern}`),
    '--',
    ...input.paths,
  ];
}

export interface ForgetPolicy {
  /** Snapshots to consider: those carrying all of these tags. Required, so that a policy never spans datasets. */
  tags: string[];
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Also delete the data no snapshot uses any more. */
  prune: boolean;
  /** restic's grouping. Default: '' (none): the tags already pick one dataset, whatever host or path made it. */
  groupBy?: string;
}

const KEEP_FLAGS = [
  ['keepLast', '--keep-last'],
  ['keepHourly', '--keep-hourly'],
  ['keepDaily', '--keep-daily'],
  ['keepWeekly', '--keep-weekly'],
  ['keepMonthly', '--keep-monthly'],
  ['keepYearly', '--keep-yearly'],
] as const;

export function planForget(policy: ForgetPolicy): string[] {
  if (policy.tags.length === 0 || policy.tags.some((t) => t === '' || t.includes(','))) {
    throw new UsageError(
      'forget needs at least one tag (without commas) to select the snapshots it may remove',
    );
  }
  const keep: string[] = [];
  for (const [key, flag] of KEEP_FLAGS) {
    const value = policy[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) {
      throw new UsageError(`forget: ${key} must be a positive integer, got ${value}`);
    }
    keep.push(`${flag}=${value}`);
  }
  if (keep.length === 0)
    throw new UsageError('forget needs at least one keep rule (keepLast, keepDaily, ...)');
  return [
    'forget',
    '--json',
    `--tag=${policy.tags.join(',')}`,
    `--group-by=${policy.groupBy ?? ''}`,
    ...keep,
    ...(policy.prune ? ['--prune'] : []),
  ];
}
