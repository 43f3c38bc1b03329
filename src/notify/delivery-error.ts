/**
 * The one error a channel throws when a message did not get through. It says whether trying
 * again can help (a timeout, a 429, a 5xx) or not (a refused payload, a missing credential),
 * so the outbox worker retries the first and moves the second to the fallback channel at once.
 */
import { OperationError, type LifeboatErrorOptions } from '../errors.js';

export interface DeliveryErrorOptions extends LifeboatErrorOptions {
  retryable: boolean;
  /** The provider's HTTP or SMTP status, when it answered. */
  statusCode?: number | undefined;
  /** How long the provider asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number | undefined;
}

export class DeliveryError extends OperationError {
  readonly retryable: boolean;
  readonly statusCode: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: DeliveryErrorOptions) {
    super(message, options);
    this.retryable = options.retryable;
    this.statusCode = options.statusCode;
    this.retryAfterMs = options.retryAfterMs;
  }
}
