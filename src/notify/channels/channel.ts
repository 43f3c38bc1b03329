/**
 * The interface every notification channel implements, one file per provider. A channel is
 * built from one `channels.<id>` entry of the plan; it resolves its credentials only when it
 * sends, and never puts them in an error or a log line.
 */
import type { Plan } from '../../plan/schema.js';

export type ChannelConfig = NonNullable<Plan['channels']>[string];
export type ChannelType = ChannelConfig['type'];
export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** What is sent: already rendered from a template. */
export interface OutgoingMessage {
  subject: string;
  body: string;
  severity?: Severity | undefined;
  /**
   * PagerDuty's event action; other channels send every message as text. Default: trigger
   * (and resolve for a resolution message, set by the stakeholder matrix).
   */
  action?: 'trigger' | 'acknowledge' | 'resolve' | undefined;
  /**
   * Ties the messages of one incident together where the provider threads them: PagerDuty's
   * dedup_key, so that `resolve` closes the alert `trigger` opened.
   */
  incidentKey?: string | undefined;
}

export interface SendOptions {
  /**
   * The same for every attempt of one message to one destination, so that a send repeated
   * after a crash can be recognised: sent as the provider allows (PagerDuty's dedup_key, an
   * `Idempotency-Key` header, the email's Message-ID).
   */
  idempotencyKey: string;
  signal: AbortSignal;
}

export interface SendResult {
  /** The provider's id for what it created (a Twilio SID, a Discord message id...). */
  providerId?: string | undefined;
  /** The provider accepted the message but asked the next one to wait (a rate-limit window). */
  retryAfterMs?: number | undefined;
}

export interface Channel {
  readonly id: string;
  readonly type: ChannelType;
  /** Throws DeliveryError; resolves once the provider has accepted the message. */
  send(message: OutgoingMessage, destination: string | null, options: SendOptions): Promise<SendResult>;
}

export interface ChannelContext {
  /** The value behind an `env:`/`file:` reference (plan/secret.ts's resolveSecret, bound to the plan). */
  secret(ref: string): string;
  /** Per-request timeout. Default: 30 s. */
  timeoutMs?: number | undefined;
}

export type ChannelFactory = (id: string, config: ChannelConfig, context: ChannelContext) => Channel;

/** A provider: how to build its channel, and what it sends to. */
export interface ChannelKind {
  /**
   * What a destination address is: `email` and `phone` channels are sent to each person's
   * address; `none` channels have one target of their own (a webhook, a PagerDuty service).
   */
  addresses: 'email' | 'phone' | 'none';
  create: ChannelFactory;
}
