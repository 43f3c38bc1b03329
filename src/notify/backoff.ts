/**
 * When to try again. Exponential backoff with jitter ("equal jitter": half the delay fixed,
 * half random), so that many messages failing together do not retry together; a provider's
 * Retry-After wins when it says to wait, up to a cap, since it knows its own rate window.
 */

export interface BackoffOptions {
  /** The first retry's delay. Default: 2 s. */
  baseMs?: number;
  /** No delay grows past this. Default: 10 min. */
  maxMs?: number;
  /** Retry-After values above this are cut down to it. Default: 1 h. */
  maxRetryAfterMs?: number;
}

/** Milliseconds before attempt `attempt + 1`, after `attempt` (1, 2, ...) failed. */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, options.maxRetryAfterMs ?? 3_600_000);
  const ceiling = Math.min(
    options.maxMs ?? 600_000,
    (options.baseMs ?? 2000) * 2 ** Math.max(0, attempt - 1),
  );
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
