/**
 * Keeps the runner's checks in the state store: buffered and written in batches (one
 * transaction per batch, not per check: a thousand probes would otherwise mean a hundred
 * commits a second), and compacted once a minute.
 */
import type { ProbesStore } from '../state/probes-store.js';
import type { ProbeCheck } from './runner.js';

export interface ProbeRecorderOptions {
  /** Write what is buffered this often. Default: 5 s. */
  flushMs?: number;
  /** Write at once when this many checks wait. Default: 2000. */
  maxBatch?: number;
  /** Roll up and apply retention this often. Default: 60 s. */
  compactMs?: number;
  /** A write or compaction failed; the checks of a failed write are dropped. Default: ignored. */
  onError?: (error: unknown) => void;
}

export interface ProbeRecorder {
  /** Pass as the runner's onCheck. */
  record(check: ProbeCheck): void;
  /** Writes what is buffered now. */
  flush(): Promise<void>;
  /** Stops the timers and writes what is left. Idempotent. */
  stop(): Promise<void>;
}

export function startProbeRecorder(store: ProbesStore, options: ProbeRecorderOptions = {}): ProbeRecorder {
  const maxBatch = options.maxBatch ?? 2000;
  const onError = options.onError ?? (() => undefined);
  let buffer: ProbeCheck[] = [];
  // Writes are chained: two batches never race for SQLite's write lock from one process.
  let writing: Promise<void> = Promise.resolve();

  function flush(): Promise<void> {
    if (buffer.length === 0) return writing;
    const batch = buffer.map((c) => ({
      probe: c.probe,
      at: c.at,
      ok: c.ok,
      latencyMs: c.latencyMs,
      message: c.message,
    }));
    buffer = [];
    writing = writing.then(() => store.recordResults(batch)).catch(onError);
    return writing;
  }
  function compact(): void {
    writing = writing.then(() => store.compact()).catch(onError);
  }

  const flushTimer = setInterval(() => void flush(), options.flushMs ?? 5_000);
  const compactTimer = setInterval(compact, options.compactMs ?? 60_000);
  let stopped: Promise<void> | undefined;
  return {
    record(check) {
      buffer.push(check);
      if (buffer.length >= maxBatch) void flush();
    },
    flush,
    stop() {
      stopped ??= (() => {
        clearInterval(flushTimer);
        clearInterval(compactTimer);
        return flush();
      })();
      return stopped;
    },
  };
}
