/**
 * A token bucket per destination, so that a burst of notices does not trip a provider's own
 * limit (Slack: about one message a second per webhook; Discord: five per two seconds). It
 * lives in the worker's memory: each worker process keeps to the limit on its own.
 */

export interface RateLimitOptions {
  /** Messages sent at once before the limit applies. Default: 5. */
  burst?: number;
  /** Sustained messages per second. Default: 1. */
  perSecond?: number;
}

export class DestinationRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number; blockedUntil: number }>();
  private readonly burst: number;
  private readonly perMs: number;

  constructor(options: RateLimitOptions = {}) {
    this.burst = options.burst ?? 5;
    this.perMs = (options.perSecond ?? 1) / 1000;
  }

  /** 0 when a message may go now (and counts it), else the milliseconds to wait. */
  take(destination: string, now = Date.now()): number {
    const bucket = this.buckets.get(destination) ?? { tokens: this.burst, at: now, blockedUntil: 0 };
    this.buckets.set(destination, bucket);
    if (bucket.blockedUntil > now) return bucket.blockedUntil - now;
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.perMs);
  }

  /** The provider asked for a pause (Retry-After): nothing goes to it before `until`. */
  block(destination: string, until: number): void {
    const bucket = this.buckets.get(destination) ?? { tokens: 0, at: until, blockedUntil: 0 };
    bucket.blockedUntil = Math.max(bucket.blockedUntil, until);
    this.buckets.set(destination, bucket);
  }
}
