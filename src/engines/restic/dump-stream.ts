/**
 * Running `restic dump` of one stored file, and offering its bytes in one of two ways: as a
 * stream that ends only once restic has exited 0, or (asked `raw`) as restic's own output
 * pipe held unread for a tool to take as its stdin. What a failure means is decided by the
 * repository (repository.ts), which passes `failure`.
 */
import { spawnBound } from '../../system/tool.js';
import { Transform, pipeline, type Readable } from 'node:stream';
import type { LifeboatError } from '../../errors.js';
import { holdForHandOver } from '../../system/pipe-handover.js';
import { TextTail, exitOf, type RunResult } from './run.js';

export interface DumpHandle {
  /**
   * The file's bytes. Ends only if restic succeeded; errors otherwise. When `handedOver`,
   * restic's own stdout instead, unread, for a tool to take as its stdin (pipe-handover.ts):
   * it ends when restic exits, whatever its status, so the reader must also await `done`.
   */
  stream: Readable;
  /** `raw` was asked and granted. */
  handedOver: boolean;
  /** Settles when restic has exited: rejects with the classified error if it failed. */
  done: Promise<void>;
  /** restic's process id, to follow its output from outside. */
  pid: number | undefined;
}

export function startDump(input: {
  resticPath: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  raw: boolean;
  failure: (result: RunResult) => LifeboatError;
}): DumpHandle {
  const child = spawnBound(input.resticPath, input.args, {
    env: input.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = new TextTail();
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const done = exitOf(child).then((exit) => {
    if (exit.code !== 0) throw input.failure({ ...exit, stdout: '', stderr: stderr.toString() });
  });
  done.catch(() => undefined); // the caller may watch only the stream
  if (input.raw && holdForHandOver(child.stdout)) {
    return { stream: child.stdout, done, pid: child.pid, handedOver: true };
  }
  // The stream ends only once restic has exited 0, so a reader never takes a truncated
  // file for a whole one.
  const gate = new Transform({
    transform: (chunk, _encoding, callback) => callback(null, chunk),
    flush: (callback) => {
      done.then(() => callback(), callback);
    },
  });
  pipeline(child.stdout, gate, () => undefined);
  return { stream: gate, done, pid: child.pid, handedOver: false };
}
