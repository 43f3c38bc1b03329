/** Moving a recovery point's units from the repository into the restore target. */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { OperationError, RefusedError, UsageError } from '../errors.js';
import { storedName } from './methods/logical/backup-units.js';
import {
  copyRedisKeys,
  dropDatabase,
  flushRedis,
  isInside,
  moveAside,
  postgresRoles,
  redisKeyCount,
  withoutExistingRoles,
  type PostgresTarget,
  type TargetSpec,
} from './restore-target.js';
import type { DumpHandle, ResticRepository } from '../engines/restic/repository.js';
import { startRedis } from '../stores/redis/sandbox.js';
import type { SourceConfig } from '../plan/schema.js';
import { type RestoreTarget, type Source } from '../stores/index.js';

import type { RestoreEvent, RestorePlan, RestoreResult, RestoreUnitPlan } from './restore.js';

export interface TransferInput {
  plan: RestorePlan;
  source: Source;
  config: SourceConfig;
  repository: ResticRepository;
  existing: string[];
  force: boolean;
  emit: (event: RestoreEvent) => void;
  cleanups: (() => Promise<void>)[];
}

export type UnitOutcome = RestoreResult['units'][number];

export async function transfer(
  input: TransferInput,
): Promise<{ units: UnitOutcome[]; streamedHash?: { sha256: string; bytes: number } }> {
  const { plan, source, repository, emit } = input;
  const target = plan.target;
  const outcomes: UnitOutcome[] = [];
  const timed = async (unit: RestoreUnitPlan, work: () => Promise<{ bytes: number; note?: string }>) => {
    emit({ type: 'unit-start', unit: unit.filename, into: unit.into });
    const t0 = Date.now();
    const { bytes, note } = await work();
    const outcome = {
      filename: unit.filename,
      into: unit.into,
      bytes,
      seconds: (Date.now() - t0) / 1000,
      ...(note ? { note } : {}),
    };
    outcomes.push(outcome);
    emit({
      type: 'unit-done',
      unit: unit.filename,
      bytes,
      seconds: outcome.seconds,
      ...(note ? { note } : {}),
    });
  };
  const stream = (
    unit: RestoreUnitPlan,
    consume: (input: Readable) => Promise<void>,
    options: StreamOptions = {},
  ) => streamUnit(repository, unit, consume, emit, options);

  switch (target.kind) {
    case 'postgres':
    case 'mysql': {
      const restoreTarget = restoreTargetOf(target);
      const server = target;
      // Each database's dump is opened while the unit before it is restored, so restic's
      // start (deriving the key, loading the index: about half a second) is not waited for.
      const ahead = new Map<RestoreUnitPlan, Promise<DumpHandle>>();
      const openAhead = (unit: RestoreUnitPlan | undefined) => {
        if (unit?.database !== undefined && !ahead.has(unit))
          ahead.set(unit, openDump(repository, unit, true));
      };
      const restoreServerUnit = async (unit: RestoreUnitPlan): Promise<void> => {
        await timed(unit, async () => {
          if (unit.database === undefined) {
            // PostgreSQL roles: read whole (a few KB), keep only roles the target lacks.
            const text = await readUnit(repository, unit);
            const filtered = withoutExistingRoles(text, await postgresRoles(server as PostgresTarget));
            await source.restoreUnit(unit.filename, Readable.from([filtered.sql]), restoreTarget);
            const note = [
              filtered.created.length > 0
                ? `created roles ${filtered.created.join(', ')}`
                : 'no role created',
              filtered.kept.length > 0 ? `left existing ${filtered.kept.join(', ')} as they are` : '',
            ]
              .filter(Boolean)
              .join('; ');
            return { bytes: Buffer.byteLength(text), note };
          }
          const dest = server.databases[unit.database]!;
          if (input.force && input.existing.includes(dest)) await dropDatabase(server, dest);
          const opened = ahead.get(unit);
          ahead.delete(unit);
          return {
            bytes: await stream(unit, (s) => source.restoreUnit(unit.filename, s, restoreTarget), {
              direct: true,
              ...(opened ? { opened } : {}),
            }),
          };
        });
      };
      return repository.session(async () => {
        try {
          for (const [index, unit] of plan.units.entries()) {
            openAhead(plan.units[index + 1]);
            await restoreServerUnit(unit);
          }
        } finally {
          for (const opened of ahead.values())
            void opened.then(
              (handle) => handle.stream.destroy(),
              () => undefined,
            );
        }
        return { units: outcomes };
      });
    }
    case 'redis-server': {
      const unit = plan.units[0]!;
      const dir = mkdtempSync(join(tmpdir(), 'lifeboat-redis-restore-'));
      input.cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      await timed(unit, async () => {
        const bytes = await stream(unit, (s) =>
          source.restoreUnit(unit.filename, s, { kind: 'directory', path: dir }),
        );
        // Redis loads an RDB only at start-up: load it into a throwaway server, copy the keys over.
        const loaded = await startRedis({ rdbFile: join(dir, 'dump.rdb') });
        try {
          if ((await redisKeyCount(target.url)) > 0) {
            if (!input.force)
              throw new RefusedError(
                `Redis at ${target.host}:${target.port} holds keys now; refusing to write into it`,
              );
            await flushRedis(target.url);
          }
          const keys = await copyRedisKeys(loaded.url, target.url);
          return { bytes, note: `${keys} key(s) copied` };
        } finally {
          await loaded.stop();
        }
      });
      return { units: outcomes };
    }
    case 'directory': {
      if (!target.source) mkdirSync(target.path, { recursive: true });
      if (plan.sourceType === 'files') {
        for (const unit of plan.units) {
          await timed(unit, async () => {
            await repository.restoreTo(unit.snapshotId, target.path);
            return { bytes: unit.bytes };
          });
        }
        return { units: outcomes };
      }
      const unit = plan.units[0]!;
      if (plan.sourceType === 'redis') {
        await timed(unit, async () => {
          const aside = input.force ? moveAside(join(target.path, 'dump.rdb')) : undefined;
          const bytes = await stream(unit, (s) =>
            source.restoreUnit(unit.filename, s, { kind: 'directory', path: target.path }),
          );
          return { bytes, ...(aside ? { note: `the previous dump.rdb was moved to ${aside}` } : {}) };
        });
        return { units: outcomes };
      }
      // A command dataset: its restore command reads the stream, or the file is written back.
      const hash = createHash('sha256');
      const hasCommand = input.config.type === 'command' && input.config.restore !== undefined;
      let bytes = 0;
      await timed(unit, async () => {
        if (hasCommand) {
          bytes = await stream(
            unit,
            (s) => source.restoreUnit(unit.filename, s, { kind: 'directory', path: target.path }),
            { hash },
          );
          return { bytes, note: 'piped into the restore command' };
        }
        const file = join(target.path, unit.filename);
        if (!isInside(file, target.path))
          throw new UsageError(`the stored file name ${unit.filename} points outside ${target.path}`);
        mkdirSync(dirname(file), { recursive: true });
        bytes = await stream(
          unit,
          (s) => pipelineAsync(s, createWriteStream(file, { flags: input.force ? 'w' : 'wx' })),
          { hash },
        );
        return { bytes, note: `written to ${file}` };
      });
      return { units: outcomes, streamedHash: { sha256: hash.digest('hex'), bytes } };
    }
  }
}

interface StreamOptions {
  /** Hash the bytes on their way (they then pass through Lifeboat). */
  hash?: ReturnType<typeof createHash>;
  /** Hand restic's output pipe to the consumer's tool, where this Node allows. */
  direct?: boolean;
  /** The dump, already opened (with `raw` as `direct` says). */
  opened?: Promise<DumpHandle>;
}

function openDump(repository: ResticRepository, unit: RestoreUnitPlan, raw: boolean): Promise<DumpHandle> {
  return repository.dumpStream(unit.snapshotId, unit.stored ?? storedName(unit.filename), { raw });
}

/**
 * Pipes one stored file from `restic dump` into `consume`, counting bytes. Both must succeed;
 * when both fail, the first failure is the cause (the other is collateral: a consumer that
 * stopped reading makes restic fail on a closed pipe, a failed dump truncates the input).
 *
 * `direct`: restic's output pipe is handed to the consumer's tool (pg_restore, mariadb), so
 * the bytes do not pass through Lifeboat; progress is then read from restic's I/O counters.
 */
async function streamUnit(
  repository: ResticRepository,
  unit: RestoreUnitPlan,
  consume: (input: Readable) => Promise<void>,
  emit: (event: RestoreEvent) => void,
  options: StreamOptions,
): Promise<number> {
  const handle = await (options.opened ??
    openDump(repository, unit, options.direct === true && options.hash === undefined));
  const started = Date.now();
  const progress = (bytesDone: number) =>
    emit({
      type: 'progress',
      unit: unit.filename,
      bytesDone,
      totalBytes: unit.bytes,
      secondsElapsed: (Date.now() - started) / 1000,
    });
  if (handle.handedOver) {
    const poll = setInterval(() => {
      const written = bytesWritten(handle.pid);
      if (written !== undefined) progress(Math.min(written, unit.bytes));
    }, 250);
    let outcomes: [PromiseSettledResult<void>, PromiseSettledResult<void>];
    try {
      outcomes = await Promise.allSettled([consume(handle.stream), handle.done]);
    } finally {
      clearInterval(poll);
    }
    // Which process failed first is not the order their exits reach Lifeboat: restic failing
    // closes the pipe and the tool fails at once. restic failing on anything but the pipe
    // the tool closed is the cause.
    const [consumed, dumped] = outcomes;
    if (dumped.status === 'rejected' && !onClosedPipe(dumped.reason)) throw dumped.reason;
    if (consumed.status === 'rejected') throw consumed.reason;
    if (dumped.status === 'rejected') throw dumped.reason;
    // restic exited 0: it wrote the whole file.
    progress(unit.bytes);
    return unit.bytes;
  }

  let bytes = 0;
  let lastEmit = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      options.hash?.update(chunk);
      const now = Date.now();
      if (now - lastEmit >= 250) {
        lastEmit = now;
        progress(bytes);
      }
      callback(null, chunk);
    },
  });
  // Not stream.pipeline: it would destroy `counter` when restic fails, and a consumer that
  // has not started its tool yet (it creates the database first) would then pipe a dead
  // stream into the tool's stdin, which never ends: the restore would hang. Ending it
  // instead hands the tool a truncated input it fails on (or not: either way `done` rejects
  // and restic's error is the one reported). A consumer that stops reading destroys
  // `counter`; restic is then stopped through its closed pipe.
  const dump = handle.stream;
  dump.pipe(counter);
  dump.on('error', () => {
    dump.unpipe(counter);
    if (!counter.destroyed && !counter.writableEnded) counter.end();
  });
  counter.once('close', () => {
    if (!dump.readableEnded) dump.destroy();
  });
  let first: unknown;
  let failed = false;
  const watch = (p: Promise<void>) =>
    p.catch((error: unknown) => {
      if (!failed) {
        failed = true;
        first = error;
      }
    });
  await Promise.all([watch(consume(counter)), watch(handle.done)]);
  if (failed) throw first;
  progress(bytes);
  return bytes;
}

/** restic stopped by the reader closing its pipe: SIGPIPE (Go's answer on stdout) or EPIPE. */
function onClosedPipe(error: unknown): boolean {
  const details = (error as { details?: { signal?: unknown } } | undefined)?.details;
  return details?.signal === 'SIGPIPE' || /broken pipe/i.test(String(error));
}

/** Bytes a process has written so far, from Linux's /proc; undefined elsewhere or once it is gone. */
function bytesWritten(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function readUnit(repository: ResticRepository, unit: RestoreUnitPlan): Promise<string> {
  const handle = await repository.dumpStream(unit.snapshotId, unit.stored ?? storedName(unit.filename));
  const [text] = await Promise.all([readAll(handle.stream, 256 * 1024 * 1024), handle.done]);
  return text;
}

export async function readAll(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw new OperationError(`a stored file expected to be small is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function restoreTargetOf(target: TargetSpec): RestoreTarget {
  switch (target.kind) {
    case 'postgres':
    case 'mysql':
      return { kind: 'server', url: target.url, databases: target.databases };
    case 'redis-server':
      return { kind: 'server', url: target.url };
    case 'directory':
      return { kind: 'directory', path: target.path };
  }
}
