/**
 * The outbox worker: claims due messages under a lease, sends each through its channel,
 * and records the attempt. A retryable failure is tried again after a backoff (or the
 * provider's Retry-After); after `maxAttempts`, or at once when the provider refuses the
 * message, the fallback route takes over if there is one, else the message is failed.
 *
 * Nothing is lost: a worker killed between send and record leaves the message leased; the
 * lease expires and another claim sends it again with the same idempotency key, which the
 * provider uses to drop the copy. `lifeboat up` runs one of these beside the server; more
 * than one may run against one state store.
 */
import { coerceError } from '../errors.js';
import type { OutboxMessage, OutboxStore } from '../state/outbox-store.js';
import { retryDelay, type BackoffOptions } from './backoff.js';
import type { OutgoingMessage } from './channels/channel.js';
import { DeliveryError } from './delivery-error.js';
import type { ChannelSet } from './plan-channels.js';
import { DestinationRateLimit, type RateLimitOptions } from './rate-limit.js';

export interface OutboxWorkerOptions {
  outbox: OutboxStore;
  channels: ChannelSet;
  /** Stops the worker: no new claim, sends in flight are cut and their messages released. */
  signal: AbortSignal;
  /** Attempts on one route before its fallback (or failure). Default: 8. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  rateLimit?: RateLimitOptions;
  /** How long a claim holds a message; longer than a send can take. Default: 2 min. */
  leaseMs?: number;
  /** Pause between looks at an empty outbox. Default: 1 s. */
  pollMs?: number;
  /** Messages sent at once. Default: 4. */
  concurrency?: number;
  onEvent?: (event: DeliveryEvent) => void;
}

export type DeliveryEvent =
  | {
      type: 'delivered' | 'retry' | 'fallback' | 'failed' | 'interrupted';
      messageId: string;
      channel: string;
      attempt: number;
      /** Names the channel and the provider's answer; never a credential. */
      error?: string;
      nextAttemptAt?: string;
    }
  | { type: 'lease-lost'; messageId: string; channel: string }
  | { type: 'store-error'; error: string };

/** Runs until `signal` aborts; resolves once the sends in flight have been recorded. */
export async function runOutboxWorker(options: OutboxWorkerOptions): Promise<void> {
  const { outbox, signal } = options;
  const limiter = new DestinationRateLimit(options.rateLimit);
  while (!signal.aborted) {
    let claimed: OutboxMessage[] = [];
    try {
      claimed = await outbox.claimDue({
        leaseMs: options.leaseMs ?? 120_000,
        limit: options.concurrency ?? 4,
      });
      await Promise.all(claimed.map((message) => deliverClaimed(message, options, limiter)));
    } catch (error) {
      // A busy or unreachable state store: the leases expire and the next claim picks the messages up.
      options.onEvent?.({ type: 'store-error', error: coerceError(error).message });
      claimed = [];
    }
    if (claimed.length === 0) await pause(options.pollMs ?? 1000, signal);
  }
}

/** Sends one claimed message and records what happened. */
export async function deliverClaimed(
  message: OutboxMessage,
  options: OutboxWorkerOptions,
  limiter: DestinationRateLimit,
): Promise<void> {
  const { outbox, channels, signal } = options;
  const token = message.leaseToken;
  if (token === null) throw new Error(`outbox message ${message.id} was not claimed`);
  const { route } = message;
  const destination = `${route.channel}\u0000${route.address ?? ''}`;
  const wait = limiter.take(destination);
  if (wait > 0) {
    await outbox.defer(message.id, token, new Date(Date.now() + wait).toISOString());
    return;
  }
  const attempt = message.attempts + 1;
  const startedAt = new Date().toISOString();
  const event = { messageId: message.id, channel: route.channel, attempt };
  const record = async (
    next: Parameters<OutboxStore['recordAttempt']>[3],
    details: {
      error?: DeliveryError | Error;
      statusCode?: number | undefined;
      retryAfterMs?: number | undefined;
    },
  ) => {
    const kept = await outbox.recordAttempt(
      message.id,
      token,
      {
        startedAt,
        statusCode: details.statusCode,
        error: details.error?.message,
        retryAfterMs: details.retryAfterMs,
      },
      next,
    );
    if (!kept) options.onEvent?.({ type: 'lease-lost', messageId: message.id, channel: route.channel });
    else
      options.onEvent?.({
        type: next.outcome,
        ...event,
        ...(details.error ? { error: details.error.message } : {}),
        ...('at' in next ? { nextAttemptAt: next.at } : {}),
      });
  };

  try {
    const channel = channels.get(route.channel);
    if (!channel)
      throw new DeliveryError(
        `channels.${route.channel} is not in the plan, or Lifeboat cannot send through it`,
        {
          retryable: false,
          hint: 'put the channel back in the plan, or let the message fail',
        },
      );
    const address = route.address === null ? null : channels.address(route.address);
    const result = await channel.send(outgoing(message), address, {
      idempotencyKey: message.idempotencyKey,
      signal,
    });
    if (result.retryAfterMs !== undefined) limiter.block(destination, Date.now() + result.retryAfterMs);
    await record({ outcome: 'delivered', providerId: result.providerId }, {});
  } catch (thrown) {
    const error = coerceError(thrown);
    if (signal.aborted) {
      // Not the provider's fault: released as due now, the attempt not counted.
      await record({ outcome: 'interrupted', at: new Date().toISOString() }, { error });
      return;
    }
    const delivery = error instanceof DeliveryError ? error : undefined;
    // Anything but a DeliveryError is unexpected: retried, so that a bug does not drop a message.
    const retryable = delivery?.retryable ?? true;
    const details = { error, statusCode: delivery?.statusCode, retryAfterMs: delivery?.retryAfterMs };
    if (delivery?.retryAfterMs !== undefined) limiter.block(destination, Date.now() + delivery.retryAfterMs);
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    if (retryable && attempt < (options.maxAttempts ?? 8))
      await record(
        { outcome: 'retry', at: at(retryDelay(attempt, delivery?.retryAfterMs, options.backoff)) },
        details,
      );
    else if (message.fallback && !message.onFallback)
      await record({ outcome: 'fallback', at: at(0) }, details);
    else await record({ outcome: 'failed' }, details);
  }
}

function outgoing(message: OutboxMessage): OutgoingMessage {
  const { subject, body } = message.message;
  if (typeof subject !== 'string' || typeof body !== 'string')
    throw new DeliveryError(`outbox message ${message.id} has no subject and body`, {
      retryable: false,
      hint: 'enqueue messages through enqueueNotices or with { subject, body }',
    });
  return message.message as unknown as OutgoingMessage;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
