/**
 * One restic repository, driven through the restic binary.
 *
 * The completion protocol: every stream or paths backup creates its snapshot with the tag
 * `lifeboat:pending`; only when the producer and restic both succeeded is it retagged
 * `lifeboat:complete` (or, with `mark: 'pending'`, left for something else to vouch for: a
 * backup run's manifest, stored by `backupFile`, which restic reads whole from a file and
 * so can tag complete as it saves it). A killed backup never leaves a complete snapshot.
 * This matters because restic before 0.17, reading stdin, cannot know that the producer
 * failed: it sees an end of file, saves a (truncated) snapshot and exits 0.
 *
 * Every operation holds the repository's lock (see lock.ts), so two Lifeboat processes
 * never run restic commands on a repository at once, and one process does so only inside
 * a `session` (the backups of one run, which restic lets share the repository).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { EnvironmentError, LifeboatError, OperationError, UsageError } from '../../errors.js';
import { findRestic, type ResticBinary } from './binary.js';
import {
  COMPLETE_TAG,
  PENDING_TAG,
  checkFilename,
  checkSnapshotId,
  checkTags,
  globalArgs,
  planForget,
  planPathsBackup,
  planStreamBackup,
  resticEnv,
  type ForgetPolicy,
  type Producer,
  type RepositoryAccess,
} from './command.js';
import { classifyResticFailure, resticError } from './errors.js';
import { withLock, type LockOptions } from './lock.js';
import {
  parseForget,
  parseRestoreLine,
  parseSnapshots,
  parseStats,
  type BackupProgress,
  type BackupSummary,
  type ForgetResult,
  type RepositoryStats,
  type RestoreProgress,
  type Snapshot,
} from './output.js';
import { createRedactor, redactUrl, secretEnvValues, stripUrlCredentials, type Redactor } from './redact.js';
import { run, type RunResult } from './run.js';
import { backupFailure } from './backup-failure.js';
import { localSnapshotId } from './snapshot-id.js';
import { startDump, type DumpHandle } from './dump-stream.js';
import {
  backupLineHandler,
  commandBackup,
  fileBackup,
  pipedBackup,
  type BackupAttempt,
} from './stream-backup.js';

export { COMPLETE_TAG, PENDING_TAG };
export type { DumpHandle };
export type {
  ForgetPolicy,
  ForgetResult,
  Producer,
  RepositoryStats,
  Snapshot,
  BackupProgress,
  RestoreProgress,
};

export interface ResticRepositoryOptions extends RepositoryAccess {
  /** The restic to run. Default: found by `findRestic()` (LIFEBOAT_RESTIC, else PATH). */
  binary?: ResticBinary;
  /** Where the cross-process lock files live. Default: `os.tmpdir()/lifeboat-locks`. */
  lockDir?: string;
  /** How long to wait for another Lifeboat process working on the repository, in ms. Default: 600000. */
  lockWaitMs?: number;
  /** The environment restic and producers start from. Default: `process.env`. */
  parentEnv?: NodeJS.ProcessEnv;
}

export interface BackupStreamOptions {
  /** The command whose standard output is the backup (e.g. `pg_dump`). */
  producer: Producer;
  /** The name of the file in the snapshot. */
  filename: string;
  /** Tags besides Lifeboat's own, e.g. the dataset's. */
  tags: string[];
  /** The snapshot's host. Default: restic's (the machine's host name). */
  host?: string;
  onProgress?: (progress: BackupProgress) => void;
  /** Aborting interrupts restic (which then removes its lock) and the producer. */
  signal?: AbortSignal;
  /**
   * `complete` (the default): once the producer and restic both succeeded, the snapshot is
   * retagged `lifeboat:complete` (two more restic commands). `pending`: it keeps
   * `lifeboat:pending`, and something else vouches for it (a backup run's manifest, stored
   * complete by `backupFile`, lists it).
   */
  mark?: 'complete' | 'pending';
}

export interface BackupPathsOptions {
  paths: string[];
  tags: string[];
  /** restic exclude patterns. */
  exclude?: string[];
  host?: string;
  onProgress?: (progress: BackupProgress) => void;
  signal?: AbortSignal;
  /** As for streams. Default: `complete`. */
  mark?: 'complete' | 'pending';
}

export interface BackupFileOptions {
  /** A local file, whole before the backup starts. */
  path: string;
  /** The name of the file in the snapshot (at its root). */
  filename: string;
  tags: string[];
  host?: string;
}

export interface BackupResult {
  /** The full id of the completed snapshot (after its retagging). */
  snapshotId: string;
  shortId: string;
  tags: string[];
  dataAdded: number;
  totalBytesProcessed: number;
  durationSeconds: number;
}

const isLocked = (error: unknown) => error instanceof EnvironmentError && error.details?.reason === 'locked';

/** Set while a `session` holds a repository's lock: the repository whose lock the current async context holds. */
const sessionOf = new AsyncLocalStorage<ResticRepository>();

export class ResticRepository {
  /** The URL with any password masked: what messages and logs show. */
  readonly displayUrl: string;
  private readonly access: RepositoryAccess;
  private readonly redact: Redactor;
  private readonly lockKey: string;
  private readonly lockOptions: LockOptions;
  private readonly parentEnv: NodeJS.ProcessEnv;
  private binaryPromise: Promise<ResticBinary> | undefined;

  constructor(options: ResticRepositoryOptions) {
    if (!options.url) throw new UsageError('a restic repository needs a URL');
    if (options.password === undefined && options.passwordFile === undefined) {
      throw new UsageError(`restic repository ${redactUrl(options.url)} has no password or password file`);
    }
    this.access = options;
    this.displayUrl = redactUrl(options.url);
    // The URL is shown in every message anyway: a secret inside it is no news there.
    this.redact = createRedactor([options.password, ...secretEnvValues(options.env)], {
      known: [this.displayUrl, stripUrlCredentials(options.url)],
    });
    // A local path may be written several ways; the lock is the same for all of them.
    this.lockKey = /^[a-z][a-z0-9]*:/i.test(options.url)
      ? stripUrlCredentials(options.url)
      : resolve(options.url);
    this.lockOptions = {
      ...(options.lockDir ? { dir: options.lockDir } : {}),
      ...(options.lockWaitMs !== undefined ? { waitMs: options.lockWaitMs } : {}),
    };
    this.parentEnv = options.parentEnv ?? process.env;
    if (options.binary) this.binaryPromise = Promise.resolve(options.binary);
  }

  /** Creates the repository; an existing one is left as it is. */
  init(): Promise<{ created: boolean }> {
    return this.locked(async () => {
      const result = await this.spawnRestic(['init']);
      if (result.code === 0) return { created: true };
      if (classifyResticFailure(result.code, result.stderr) === 'already-initialized')
        return { created: false };
      throw this.failure('init', result);
    });
  }

  /** Backs up the standard output of `producer` as one file, streamed: nothing is written to local disk. */
  backupStream(options: BackupStreamOptions): Promise<BackupResult> {
    checkFilename(options.filename);
    checkTags(options.tags);
    return this.locked(async () => {
      const binary = await this.binary();
      const plan = planStreamBackup(binary.features, this.access, options);
      const input = {
        resticPath: binary.path,
        args: [...globalArgs(this.access), ...plan.args],
        resticEnv: { ...resticEnv(this.access, this.parentEnv), ...plan.resticEnv },
        redact: this.redact,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      };
      const attempt = await this.attemptBackup(() =>
        plan.mode === 'pipe'
          ? pipedBackup({ ...input, producer: options.producer, parentEnv: this.parentEnv })
          : commandBackup(input),
      );
      return this.settleBackup(attempt, options.signal, options.mark, options.tags);
    });
  }

  /**
   * Backs up one local file as `/<filename>`, tagged `lifeboat:complete` at once: restic
   * reads the file itself (it is restic's standard input, not a pipe from Lifeboat), so a
   * snapshot it saves holds the whole file even if Lifeboat dies meanwhile, and a restic that
   * dies saves nothing. One restic command instead of three.
   */
  backupFile(options: BackupFileOptions): Promise<BackupResult> {
    checkFilename(options.filename);
    checkTags(options.tags);
    return this.locked(async () => {
      const binary = await this.binary();
      const size = statSync(options.path).size;
      const args = [
        ...globalArgs(this.access),
        'backup',
        '--json',
        '--stdin',
        `--stdin-filename=${options.filename}`,
        `--tag=${[COMPLETE_TAG, ...options.tags].join(',')}`,
        ...(options.host ? [`--host=${options.host}`] : []),
      ];
      const attempt = await this.attemptBackup(() =>
        fileBackup({
          resticPath: binary.path,
          args,
          resticEnv: resticEnv(this.access, this.parentEnv),
          redact: this.redact,
          path: options.path,
        }),
      );
      const saved = attempt.summary?.snapshotId;
      if (attempt.restic.code === 0 && saved && attempt.summary?.totalBytesProcessed === size) {
        const full = await this.fullId(saved);
        return {
          snapshotId: full,
          shortId: full.slice(0, 8),
          tags: [COMPLETE_TAG, ...options.tags],
          dataAdded: attempt.summary.dataAdded,
          totalBytesProcessed: attempt.summary.totalBytesProcessed,
          durationSeconds: attempt.summary.totalDurationSeconds,
        };
      }
      if (saved) await this.forgetBestEffort(saved);
      if (attempt.restic.code !== 0) {
        throw this.failure('backup', { ...attempt.restic, stdout: '', stderr: attempt.resticStderrRaw });
      }
      throw new OperationError(
        `restic backup of ${options.filename} on ${this.displayUrl} stored ${attempt.summary?.totalBytesProcessed ?? 'no'} bytes of ${size}`,
        { details: { repository: this.displayUrl, resticStderr: attempt.resticStderr.slice(-2000) } },
      );
    });
  }

  /**
   * Runs `fn` holding the repository's lock once: the restic commands it starts through this
   * repository (even several at a time) do not queue for the lock each. For the backups of
   * one run, which restic itself lets run side by side (a backup takes a shared lock).
   */
  session<T>(fn: () => Promise<T>): Promise<T> {
    if (sessionOf.getStore() === this) return fn();
    return this.locked(() => sessionOf.run(this, fn));
  }

  /** Backs up files and directories. */
  backupPaths(options: BackupPathsOptions): Promise<BackupResult> {
    const args = planPathsBackup({ ...options, paths: options.paths.map((p) => resolve(p)) });
    return this.locked(async () => {
      const attempt = await this.attemptBackup(async () => {
        let summary: BackupSummary | undefined;
        const result = await this.spawnRestic(args, {
          onStdoutLine: backupLineHandler(options.onProgress, (s) => (summary = s)),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        return {
          restic: result,
          resticStderr: this.redact(result.stderr),
          resticStderrRaw: result.stderr,
          producer: { code: 0, signal: null },
          producerStderr: '',
          producerStopped: false,
          summary,
        };
      });
      return this.settleBackup(attempt, options.signal, options.mark, options.tags);
    });
  }

  /** Snapshots carrying all of `tags` (and of `host`, if given), oldest first. */
  snapshots(filter: { tags?: string[]; host?: string } = {}): Promise<Snapshot[]> {
    return this.locked(() => this.listSnapshots(filter));
  }

  /**
   * Streams one file of a snapshot. The repository stays locked until restic exits, so
   * the caller must consume or destroy the stream.
   */
  dumpStream(
    snapshotId: string,
    filename: string,
    options: { /** Leave restic's output pipe unread, to be handed over. */ raw?: boolean } = {},
  ): Promise<DumpHandle> {
    checkSnapshotId(snapshotId);
    checkFilename(filename);
    return new Promise<DumpHandle>((resolveHandle, rejectHandle) => {
      this.locked(async () => {
        const binary = await this.binary();
        const handle = startDump({
          resticPath: binary.path,
          args: [...globalArgs(this.access), 'dump', snapshotId, `/${filename}`],
          env: resticEnv(this.access, this.parentEnv),
          raw: options.raw === true,
          failure: (result) => this.failure('dump', result),
        });
        resolveHandle(handle);
        // A restic whose reader stopped early (pg_restore -l reads only the table of
        // contents) dies of SIGPIPE, one of a failed restore is killed: neither removes its
        // lock from the repository, where it would block the next exclusive command (check,
        // prune) of anyone, Lifeboat or not. Removing locks of dead processes is always safe.
        await handle.done.catch(() => this.removeStaleLocks().catch(() => undefined));
      }).catch(rejectHandle);
    });
  }

  /** Restores a snapshot (or the `include`d parts of it) into `targetDir`. */
  restoreTo(
    snapshotId: string,
    targetDir: string,
    options: { include?: string[]; onProgress?: (progress: RestoreProgress) => void } = {},
  ): Promise<void> {
    checkSnapshotId(snapshotId);
    return this.locked(async () => {
      const binary = await this.binary();
      const json = binary.features.restoreJsonProgress && options.onProgress !== undefined;
      const args = [
        'restore',
        snapshotId,
        `--target=${resolve(targetDir)}`,
        ...(options.include ?? []).map((p) => `--include=${p}`),
        ...(json ? ['--json'] : []),
      ];
      await this.checked('restore', args, {
        onStdoutLine: (line) => {
          const progress = json ? parseRestoreLine(line) : undefined;
          if (progress) options.onProgress?.(progress);
        },
      });
    });
  }

  /** Applies a keep policy to the snapshots carrying all of `policy.tags`. */
  forget(policy: ForgetPolicy): Promise<ForgetResult> {
    const args = planForget(policy);
    return this.locked(async () => parseForget((await this.checked('forget', args)).stdout));
  }

  /** Removes the given snapshots. */
  forgetIds(ids: string[], options: { prune?: boolean } = {}): Promise<void> {
    ids.forEach(checkSnapshotId);
    if (ids.length === 0) return Promise.resolve();
    return this.locked(async () => {
      await this.checked('forget', ['forget', ...(options.prune ? ['--prune'] : []), ...ids]);
    });
  }

  /** Verifies the repository's structure and, with `readDataSubset` ('10%', '1/10'), part of its data. */
  check(options: { readDataSubset?: string } = {}): Promise<{ output: string }> {
    const subset = options.readDataSubset;
    if (subset !== undefined && !/^(\d+(\.\d+)?%|\d+\/\d+|\d+[KMGT]?)$/i.test(subset)) {
      throw new UsageError(`invalid readDataSubset ${JSON.stringify(subset)}: expected e.g. 10% or 1/10`);
    }
    const args = ['check', ...(subset ? [`--read-data-subset=${subset}`] : [])];
    return this.locked(async () => ({ output: this.redact((await this.checked('check', args)).stdout) }));
  }

  stats(): Promise<RepositoryStats> {
    return this.locked(async () =>
      parseStats((await this.checked('stats', ['stats', '--json', '--mode=raw-data'])).stdout),
    );
  }

  /** Removes stale restic locks: those of dead processes on this host, or older than 30 minutes (restic's rule). */
  unlock(): Promise<void> {
    return this.locked(() => this.removeStaleLocks());
  }

  // ---- internals ---------------------------------------------------------------------

  private binary(): Promise<ResticBinary> {
    this.binaryPromise ??= findRestic(this.parentEnv);
    return this.binaryPromise;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    if (sessionOf.getStore() === this) return fn();
    return withLock(this.lockKey, this.lockOptions, async (lock) => {
      // A crashed Lifeboat run may have left restic's own lock behind as well.
      if (lock.brokeStale) await this.removeStaleLocks().catch(() => undefined);
      return fn();
    });
  }

  private async spawnRestic(
    args: string[],
    options: {
      onStdoutLine?: (line: string) => void;
      signal?: AbortSignal;
      env?: Record<string, string>;
    } = {},
  ): Promise<RunResult> {
    const binary = await this.binary();
    return run(binary.path, [...globalArgs(this.access), ...args], {
      env: { ...resticEnv(this.access, this.parentEnv), ...options.env },
      ...(options.onStdoutLine ? { onStdoutLine: options.onStdoutLine } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** `result.stderr` is restic's raw text: classified as it is, shown redacted. */
  private failure(operation: string, result: RunResult): LifeboatError {
    return resticError({
      operation,
      repository: this.displayUrl,
      exitCode: result.code,
      signal: result.signal,
      stderr: this.redact(result.stderr),
      rawStderr: result.stderr,
    });
  }

  /** Runs restic, retrying once after removing stale locks if the repository is locked; throws on failure. */
  private checked(
    operation: string,
    args: string[],
    options: { onStdoutLine?: (line: string) => void } = {},
  ): Promise<RunResult> {
    return this.retryIfStaleLocked(async () => {
      const result = await this.spawnRestic(args, options);
      if (result.code !== 0) throw this.failure(operation, result);
      return result;
    });
  }

  /**
   * A restic killed hard (SIGKILL, OOM, power loss) leaves its lock in the repository.
   * `restic unlock` removes only locks whose process is gone from this host or that are
   * older than 30 minutes, so running it and trying once more is safe: a live holder's
   * lock stays and the second try reports it.
   */
  private async retryIfStaleLocked<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!isLocked(error)) throw error;
      await this.removeStaleLocks();
      return fn();
    }
  }

  private async removeStaleLocks(): Promise<void> {
    const result = await this.spawnRestic(['unlock']);
    if (result.code !== 0) throw this.failure('unlock', result);
  }

  private async listSnapshots(filter: { tags?: string[]; host?: string }): Promise<Snapshot[]> {
    const tags = filter.tags ?? [];
    if (tags.some((t) => t === '' || t.includes(',')))
      throw new UsageError('snapshot filter tags cannot be empty or hold commas');
    const args = [
      'snapshots',
      '--json',
      ...(tags.length ? [`--tag=${tags.join(',')}`] : []),
      ...(filter.host ? [`--host=${filter.host}`] : []),
    ];
    return parseSnapshots((await this.checked('snapshots', args)).stdout);
  }

  /**
   * Runs a backup attempt, and once more after removing stale locks if restic found the
   * repository locked (it then saved nothing; a pipe producer simply runs again).
   */
  private async attemptBackup(attemptOnce: () => Promise<BackupAttempt>): Promise<BackupAttempt> {
    const attempt = await attemptOnce();
    const lockedOut =
      attempt.restic.code !== 0 &&
      attempt.summary?.snapshotId === undefined &&
      classifyResticFailure(attempt.restic.code, attempt.resticStderrRaw) === 'locked';
    if (!lockedOut) return attempt;
    await this.removeStaleLocks();
    return attemptOnce();
  }

  /** Turns a finished backup attempt into a completed snapshot or an error, cleaning up partial snapshots. */
  private async settleBackup(
    attempt: BackupAttempt,
    signal: AbortSignal | undefined,
    mark: 'complete' | 'pending' = 'complete',
    tags: string[] = [],
  ): Promise<BackupResult> {
    const { restic, producer, summary } = attempt;
    const snapshotId = summary?.snapshotId;
    const resticOk = restic.code === 0 && restic.signal === null;
    const producerOk = producer.code === 0 && producer.signal === null;
    if (resticOk && producerOk && snapshotId && !signal?.aborted) {
      const saved =
        mark === 'pending'
          ? { id: await this.fullId(snapshotId), tags: [PENDING_TAG, ...tags] }
          : await this.markComplete(snapshotId);
      return {
        snapshotId: saved.id,
        shortId: saved.id.slice(0, 8),
        tags: saved.tags,
        dataAdded: summary.dataAdded,
        totalBytesProcessed: summary.totalBytesProcessed,
        durationSeconds: summary.totalDurationSeconds,
      };
    }
    // Whatever went wrong, a snapshot that was saved anyway holds a partial backup.
    const partialForgotten = snapshotId ? await this.forgetBestEffort(snapshotId) : undefined;
    const details = {
      repository: this.displayUrl,
      resticExitCode: restic.code,
      resticSignal: restic.signal,
      producerExitCode: producer.code,
      producerSignal: producer.signal,
      producerStderr: attempt.producerStderr.slice(-2000),
      ...(snapshotId ? { partialSnapshot: snapshotId, partialSnapshotForgotten: partialForgotten } : {}),
    };
    if (signal?.aborted) {
      // restic 0.14 interrupted while it starts up sometimes exits without removing the lock
      // it has just created (seen in about half of the stops of `lifeboat run`); that lock is
      // stale now, and would make a plain `restic check` or `prune` refuse the repository.
      await this.removeStaleLocks().catch(() => undefined);
      throw new OperationError(`backup to ${this.displayUrl} was cancelled`, { details });
    }
    throw backupFailure(attempt, this.displayUrl, details, (result) => this.failure('backup', result));
  }

  /** Retags a pending snapshot complete and returns it under its new id. */
  private async markComplete(snapshotId: string): Promise<Snapshot> {
    await this.checked('tag', ['tag', `--add=${COMPLETE_TAG}`, `--remove=${PENDING_TAG}`, snapshotId]);
    // `restic tag` rewrites the snapshot under a new id and records the old one as `original`.
    const matches = (await this.listSnapshots({ tags: [COMPLETE_TAG] })).filter((s) =>
      s.original?.startsWith(snapshotId),
    );
    if (matches.length !== 1) {
      throw new OperationError(
        `snapshot ${snapshotId} was saved but could not be marked complete (found ${matches.length} candidates); it keeps the tag ${PENDING_TAG}`,
        { details: { repository: this.displayUrl, snapshotId } },
      );
    }
    return matches[0]!;
  }

  /**
   * The full id of a snapshot restic has just saved. restic 0.14 prints only the short id in
   * `backup --json`'s summary. A local repository names each snapshot's file by its id (the
   * repository format), so the id is read from the directory, which needs no key; any other
   * repository is asked (`restic snapshots`, one more command).
   */
  private async fullId(id: string): Promise<string> {
    if (/^[0-9a-f]{64}$/.test(id)) return id;
    const local = localSnapshotId(this.access.url, id);
    if (local !== undefined) return local;
    const matches = (await this.listSnapshots({})).filter((s) => s.id.startsWith(id));
    if (matches.length !== 1) {
      throw new OperationError(
        `restic saved snapshot ${id} but lists ${matches.length} snapshots with that id`,
        {
          details: { repository: this.displayUrl, snapshotId: id },
        },
      );
    }
    return matches[0]!.id;
  }

  private async forgetBestEffort(snapshotId: string): Promise<boolean> {
    try {
      await this.checked('forget', ['forget', snapshotId]);
      return true;
    } catch {
      return false;
    }
  }
}
