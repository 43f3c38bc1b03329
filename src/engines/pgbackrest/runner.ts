/**
 * Running pgbackrest: always with `--config` (Lifeboat's file, never /etc), as the cluster's
 * OS user (it must read the data directory, and the files it writes must belong to the user
 * the archive_command later runs as), with pgBackRest's own message in every error.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EnvironmentError, OperationError, UsageError, type LifeboatError } from '../../errors.js';
import type { OsUser } from '../../system/instance.js';
import { runTool, type RunResult } from '../../system/tool.js';
import type { CompressType } from './config.js';
import { parseInfo, type StanzaInfo } from './info.js';

export interface PgbackrestTarget {
  /** Absolute path of the pgbackrest binary. */
  bin: string;
  configPath: string;
  stanza: string;
  /** The cluster's OS user; undefined: the current user. */
  user: OsUser | undefined;
  /** Where it runs: the stanza's own dir, which the user owns. */
  cwd: string;
}

export interface PgbackrestRunOptions {
  /** Kill pgbackrest after this long. Default: no limit (a full backup of a big cluster takes hours). */
  timeoutMs?: number;
  /** Strings to mask in messages (S3 keys that a verbose error might echo). */
  secrets?: string[];
}

let binCache: string | undefined;

/** The pgbackrest binary on PATH, as an absolute path (archive_command must not depend on PATH). */
export function findPgbackrest(env: NodeJS.ProcessEnv = process.env): string {
  if (binCache) return binCache;
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, 'pgbackrest');
    if (dir && existsSync(candidate)) return (binCache = candidate);
  }
  throw new EnvironmentError('pgbackrest is not installed (or not on PATH)', {
    hint: 'Install it on the database host: apt-get install pgbackrest',
    details: { tool: 'pgbackrest', debianPackage: 'pgbackrest' },
  });
}

const compressCache = new Map<string, CompressType>();

/**
 * The best compression this build has: zst, else lz4, else gz (always built in). pgBackRest
 * only says a type is missing when a command uses it, so the linked libraries tell instead.
 */
export async function detectCompressType(bin: string): Promise<CompressType> {
  const known = compressCache.get(bin);
  if (known) return known;
  let type: CompressType = 'gz';
  try {
    const ldd = await runTool('ldd', [bin], { timeoutMs: 10_000 });
    if (/libzstd\.so/.test(ldd.stdout)) type = 'zst';
    else if (/liblz4\.so/.test(ldd.stdout)) type = 'lz4';
  } catch {
    // No ldd (a static build, another libc): gz is always there.
  }
  compressCache.set(bin, type);
  return type;
}

/** `pgbackrest --config=... --stanza=... [options] command`; a non-zero exit throws. */
export async function runPgbackrest(
  target: PgbackrestTarget,
  command: string,
  options: string[] = [],
  runOptions: PgbackrestRunOptions = {},
): Promise<RunResult> {
  const result = await runPgbackrestRaw(target, command, options, runOptions);
  if (result.code !== 0) throw pgbackrestError(command, target, result);
  return result;
}

/** Like runPgbackrest, but the caller reads the exit code. */
export function runPgbackrestRaw(
  target: PgbackrestTarget,
  command: string,
  options: string[] = [],
  runOptions: PgbackrestRunOptions = {},
): Promise<RunResult> {
  const given = (name: string): boolean => options.some((o) => o.startsWith(`--${name}=`));
  const args = [
    `--config=${target.configPath}`,
    `--stanza=${target.stanza}`,
    // Messages on stderr only, so that stdout is `info`'s JSON and nothing else. pgBackRest
    // refuses an option given twice, so a caller's own level replaces these.
    ...(given('log-level-console') ? [] : ['--log-level-console=off']),
    ...(given('log-level-stderr') ? [] : ['--log-level-stderr=warn']),
    ...options,
    command,
  ];
  return runTool(target.bin, args, {
    cwd: target.cwd,
    ...(target.user ? { uid: target.user.uid, gid: target.user.gid } : {}),
    ...(runOptions.timeoutMs !== undefined ? { timeoutMs: runOptions.timeoutMs } : {}),
    ...(runOptions.secrets ? { secrets: runOptions.secrets } : {}),
  });
}

/** `info --output=json` for the stanza: the only pgBackRest command that speaks JSON. */
export async function pgbackrestInfo(target: PgbackrestTarget): Promise<StanzaInfo> {
  const result = await runPgbackrest(target, 'info', ['--output=json'], { timeoutMs: 120_000 });
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch (cause) {
    throw new OperationError(
      `pgbackrest info printed something that is not JSON: ${result.stdout.slice(0, 200)}`,
      {
        cause,
      },
    );
  }
  return parseInfo(parsed, target.stanza);
}

/** pgBackRest's `ERROR: [055]: message` lines, without the prefix. */
export function pgbackrestMessage(result: RunResult): string {
  const text = `${result.stderr}\n${result.stdout}`;
  const errors = [...text.matchAll(/^(?:\S+ \S+ )?(?:P\d+ +)?ERROR: \[(\d+)\]: (.*)$/gm)].map(
    (m) => `[${m[1]}] ${m[2]}`,
  );
  if (errors.length > 0) return errors.slice(0, 3).join(' / ');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length > 0) return lines.slice(0, 3).join(' / ');
  return result.signal ? `killed by ${result.signal}` : `exit ${result.code}, no message`;
}

/** The error for a failed run: what went wrong in pgBackRest's words, and what to do. */
export function pgbackrestError(command: string, target: PgbackrestTarget, result: RunResult): LifeboatError {
  const message = `pgbackrest ${command} (stanza ${target.stanza}) failed: ${pgbackrestMessage(result)}`;
  const details = { tool: 'pgbackrest', command, stanza: target.stanza, exitCode: result.code };
  const text = `${result.stderr}\n${result.stdout}`;
  const manual = `pgbackrest --config=${target.configPath} --stanza=${target.stanza}`;
  if (/missing stanza path|stanza .* does not exist|\[055\].*(archive|backup)\.info/i.test(text)) {
    return new EnvironmentError(message, {
      details,
      hint: `the stanza '${target.stanza}' does not exist in the repository yet: a first \`lifeboat backup\` of the dataset creates it (or run ${manual} stanza-create)`,
    });
  }
  if (/unable to connect|could not connect|connection to server|no such file.*\.s\.PGSQL/i.test(text)) {
    return new EnvironmentError(message, {
      details,
      hint: 'pgBackRest connects through the Unix socket on the database host: check that the server runs, and the port and socket directory',
    });
  }
  if (/permission denied|\[041\]|\[047\]/i.test(text)) {
    return new EnvironmentError(message, {
      details,
      hint: `pgBackRest runs as ${target.user?.name ?? 'the current user'}: the config, the repository and the data directory must be readable and writable by it (and every parent directory reachable)`,
    });
  }
  if (/\[068\]|archive_command .* must contain/i.test(text)) {
    return new OperationError(message, {
      details,
      hint: "the server's archive_command does not push WAL with pgBackRest: set archiving up again through Lifeboat (a confirmed backup does), or fix archive_command",
    });
  }
  if (/was not archived before the .* timeout|\[082\]/i.test(text)) {
    return new OperationError(message, {
      details,
      hint: 'WAL archiving does not work: look at pg_stat_archiver (failed_count, last_failed_wal) and the server log for archive_command errors',
    });
  }
  if (/\[031\]|\[032\]|invalid value|option .* not valid/i.test(text)) {
    return new UsageError(message, { details });
  }
  if (/\[050\]|unable to acquire lock/i.test(text)) {
    return new OperationError(message, {
      details,
      hint: 'another pgBackRest command holds the stanza lock; wait for it to finish',
    });
  }
  return new OperationError(message, {
    details,
    hint: `pgBackRest's log is in ${target.cwd}/log; rerun by hand with: ${manual} --log-level-console=detail ${command}`,
  });
}
