/**
 * Handing a child process's output pipe, unread, to another process as its standard input,
 * so that the bytes go from one to the other without passing through Lifeboat (a restore
 * streams gigabytes from `restic dump` into pg_restore).
 *
 * Node reads ahead from a child's output pipe as soon as it creates it, and spawn has no
 * option against that. `holdForHandOver` stops it in the same tick, before any byte can
 * arrive, through the pipe's handle; on a Node whose internals differ it declines, and the
 * caller reads the pipe itself as before.
 */
import type { Readable } from 'node:stream';

interface PipeHandle {
  reading?: boolean;
  readStop?: () => number;
}

const held = new WeakSet<Readable>();

/**
 * Must be called in the tick that spawned the process. True if `pipe` is now unread and
 * marked. It is for a tool's stdin only: Node will not read it any more, not even to drain
 * it when the process exits before the tool starts (the bytes then wait in the pipe).
 */
export function holdForHandOver(pipe: Readable): boolean {
  const handle = (pipe as unknown as { _handle?: PipeHandle })._handle;
  if (typeof handle?.readStop !== 'function') return false;
  if (handle.readStop() !== 0) return false;
  handle.reading = false;
  held.add(pipe);
  return true;
}

/** Whether a tool given `input` as stdin should get the pipe itself (see `runTool`). */
export function isHeldForHandOver(input: unknown): input is Readable {
  return typeof input === 'object' && input !== null && held.has(input as Readable);
}
