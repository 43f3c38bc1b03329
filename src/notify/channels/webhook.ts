/**
 * A generic webhook, signed so that the receiver can tell Lifeboat's requests from anyone
 * else's. A JSON POST to `webhook` (a secret reference) or `url` with these headers:
 *
 *   Idempotency-Key: <key>          the same on every attempt of one message to one receiver
 *   Lifeboat-Timestamp: <unix s>    when this attempt was signed
 *   Lifeboat-Signature: v1=<hex>    HMAC-SHA256, keyed with the channel's `api_key`, of
 *                                   `<timestamp>.<raw body>`
 *
 * A receiver recomputes the HMAC over the raw body, compares in constant time, refuses a
 * timestamp more than five minutes old (a replay), and ignores a key it has already handled.
 * Without `api_key` the request is sent unsigned (no signature header).
 */
import { createHmac } from 'node:crypto';
import type { ChannelKind } from './channel.js';
import { channelSetting, firstSetting } from './credential.js';
import { jsonOf, postToProvider } from './http.js';

export const SIGNATURE_HEADER = 'lifeboat-signature';
export const TIMESTAMP_HEADER = 'lifeboat-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** `v1=<hex>`: the versioned signature of one request. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export const webhookChannel: ChannelKind = {
  addresses: 'none',
  create: (id, config, context) => ({
    id,
    type: 'webhook',
    async send(message, _destination, { idempotencyKey, signal }) {
      const url = firstSetting(id, config, ['webhook', 'url'], context);
      const body = JSON.stringify({
        id: idempotencyKey,
        channel: id,
        subject: message.subject,
        body: message.body,
        severity: message.severity ?? null,
        action: message.action ?? 'trigger',
        incident: message.incidentKey ?? null,
      });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        [IDEMPOTENCY_HEADER]: idempotencyKey,
      };
      if (config.api_key !== undefined) {
        const timestamp = Math.floor(Date.now() / 1000);
        headers[TIMESTAMP_HEADER] = String(timestamp);
        headers[SIGNATURE_HEADER] = signWebhook(
          channelSetting(id, config, 'api_key', context),
          timestamp,
          body,
        );
      }
      const answer = await postToProvider({
        channel: id,
        url,
        headers,
        body,
        timeoutMs: context.timeoutMs,
        signal,
      });
      const providerId = jsonOf(answer.text)?.id;
      return typeof providerId === 'string' ? { providerId } : {};
    },
  }),
};
