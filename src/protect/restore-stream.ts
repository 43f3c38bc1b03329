/**
 * Stored files out of the repository: `restic dump` piped into whatever reads them back
 * (a restore tool, a file), counted for progress and checked for failures on both ends.
 */
import type { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { OperationError } from '../errors.js';
import { storedName } from './methods/logical/backup-units.js';
import type { DumpHandle, ResticRepository } from '../engines/restic/repository.js';
import type { RestoreEvent } from './restore-result.js';

/** A stored file of a recovery point: its name in the backup, where restic keeps it, its size. */
export interface StoredUnit {
  filename: string;
  /** Its file in the restic snapshot (streams). */
  stored?: string;
  snapshotId: string;
  /** Bytes at backup time. */
  bytes: number;
}

export interface StreamOptions {
  /** Hash the bytes on their way (they then pass through Lifeboat). */
  hash?: ReturnType<typeof createHash>;
  /** Hand restic's output pipe to the consumer's tool, where this Node allows. */
  direct?: boolean;
  /** The dump, already opened (with `raw` as `direct` says). */
  opened?: Promise<DumpHandle>;
  /**
   * The consumer reads only the start of the file (an archive's table of contents): restic
   * stopped by the pipe it closes is no failure, and no progress is reported. With `direct`.
   */
  head?: boolean;
}

export function openDump(repository: ResticRepository, unit: StoredUnit, raw: boolean): Promise<DumpHandle> {
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
export async function streamUnit(
  repository: ResticRepository,
  unit: StoredUnit,
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
  if (handle.handedOver && options.head === true) {
    const [consumed, dumped] = await Promise.allSettled([consume(handle.stream), handle.done]);
    if (dumped.status === 'rejected' && !onClosedPipe(dumped.reason)) throw dumped.reason;
    if (consumed.status === 'rejected') throw consumed.reason;
    return 0;
  }
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

export async function readUnit(repository: ResticRepository, unit: StoredUnit): Promise<string> {
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
