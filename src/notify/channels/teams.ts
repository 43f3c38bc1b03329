/**
 * Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request is
 * received"), which replaced Office 365 connectors: a JSON POST of a `message` carrying one
 * Adaptive Card, answered 202 Accepted.
 */
import type { ChannelKind } from './channel.js';
import { channelSetting } from './credential.js';
import { postToProvider } from './http.js';

export const teamsChannel: ChannelKind = {
  addresses: 'none',
  create: (id, config, context) => ({
    id,
    type: 'teams',
    async send(message, _destination, { idempotencyKey, signal }) {
      const card = {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: '1.4',
        body: [
          { type: 'TextBlock', text: message.subject, weight: 'Bolder', size: 'Medium', wrap: true },
          { type: 'TextBlock', text: message.body, wrap: true },
        ],
      };
      await postToProvider({
        channel: id,
        url: channelSetting(id, config, 'webhook', context),
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify({
          type: 'message',
          attachments: [
            { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
          ],
        }),
        timeoutMs: context.timeoutMs,
        signal,
      });
      return {};
    },
  }),
};
