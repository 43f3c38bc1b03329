/**
 * PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/overview/):
 * POST /v2/enqueue with the channel's `routing_key`, an `event_action` (trigger, acknowledge,
 * resolve) and a `dedup_key`, answered 202. The dedup_key is the incident's key when the
 * message has one (so that resolve closes what trigger opened), else the idempotency key; a
 * trigger sent twice with one dedup_key stays one alert. `url` overrides the base URL
 * (default https://events.pagerduty.com), for a proxy or a test receiver.
 */
import type { ChannelKind, Severity } from './channel.js';
import { channelSetting } from './credential.js';
import { jsonOf, postToProvider } from './http.js';

const DEFAULT_BASE = 'https://events.pagerduty.com';
const MAX_SUMMARY = 1024;
/** PagerDuty's severities are critical, error, warning, info. */
const SEVERITY: Record<Severity, string> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
};

export const pagerdutyChannel: ChannelKind = {
  addresses: 'none',
  create: (id, config, context) => ({
    id,
    type: 'pagerduty',
    async send(message, _destination, { idempotencyKey, signal }) {
      const action = message.action ?? 'trigger';
      const event: Record<string, unknown> = {
        routing_key: channelSetting(id, config, 'routing_key', context),
        event_action: action,
        dedup_key: message.incidentKey ?? idempotencyKey,
      };
      // acknowledge and resolve carry no payload; trigger must.
      if (action === 'trigger') {
        const summary = message.subject || message.body;
        event.payload = {
          summary: summary.length > MAX_SUMMARY ? `${summary.slice(0, MAX_SUMMARY - 1)}…` : summary,
          source: 'lifeboat',
          severity: SEVERITY[message.severity ?? 'critical'],
          custom_details: { body: message.body },
        };
      }
      const base = config.url ?? DEFAULT_BASE;
      const answer = await postToProvider({
        channel: id,
        url: new URL('/v2/enqueue', base).toString(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        timeoutMs: context.timeoutMs,
        signal,
      });
      const dedupKey = jsonOf(answer.text)?.dedup_key;
      return typeof dedupKey === 'string' ? { providerId: dedupKey } : {};
    },
  }),
};
