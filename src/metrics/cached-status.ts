/**
 * The status behind /metrics, computed at most once per `freshMs` and never twice at once,
 * however many scrapes arrive. A scrape waits at most `waitMs` for a computation (a
 * PostgreSQL server that does not answer takes its connect timeout, 10 s); past that it
 * gets the last status computed, whose own timestamp metric shows its age, while the
 * computation goes on for the next scrape.
 */

export interface CachedOptions<T> {
  collect: () => Promise<T>;
  /** How long a computation's result is served before the next scrape computes again, in ms. Default: 10000. */
  freshMs?: number | undefined;
  /** How long a scrape waits for a computation, in ms. Default: 4000. */
  waitMs?: number | undefined;
  /** Told once per computation that failed (with its error) or outlasted `waitMs` (with none). */
  onFailure?: (error: Error | undefined) => void;
  /** Default: Date.now. */
  now?: () => number;
}

export interface CachedValue<T> {
  /** The newest value computed, after starting a computation if the last is not fresh; undefined before the first succeeds. */
  get(): Promise<T | undefined>;
  /** Resolves when no computation is running (for a clean shutdown). */
  settle(): Promise<void>;
}

export function cachedValue<T>(options: CachedOptions<T>): CachedValue<T> {
  const freshMs = options.freshMs ?? 10_000;
  const waitMs = options.waitMs ?? 4000;
  const now = options.now ?? Date.now;
  let latest: T | undefined;
  let startedAt = -Infinity;
  let running: Promise<void> | undefined;

  const start = () => {
    startedAt = now();
    let reported = false;
    const report = (error: Error | undefined) => {
      if (!reported) options.onFailure?.(error);
      reported = true;
    };
    const attempt = options.collect().then(
      (value) => {
        latest = value;
      },
      (error: unknown) => report(error instanceof Error ? error : new Error(String(error))),
    );
    running = attempt.finally(() => {
      running = undefined;
    });
    return { attempt: running, timedOut: () => report(undefined) };
  };

  return {
    async get() {
      if (running === undefined && now() - startedAt < freshMs) return latest;
      const { attempt, timedOut } = running ? { attempt: running, timedOut: () => {} } : start();
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), waitMs);
      });
      try {
        if ((await Promise.race([attempt, expired])) === 'expired') timedOut();
      } finally {
        clearTimeout(timer);
      }
      return latest;
    },
    async settle() {
      await running;
    },
  };
}
