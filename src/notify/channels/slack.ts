/**
 * Slack incoming webhook (https://api.slack.com/messaging/webhooks): a JSON POST with `text`
 * to the webhook URL, answered `200 ok`. Slack has no idempotency key; the header is sent for
 * proxies that honour one, and a crash between send and record may post twice.
 */
import type { ChannelKind } from './channel.js';
import { channelSetting } from './credential.js';
import { postToProvider } from './http.js';

export const slackChannel: ChannelKind = {
  addresses: 'none',
  create: (id, config, context) => ({
    id,
    type: 'slack',
    async send(message, _destination, { idempotencyKey, signal }) {
      await postToProvider({
        channel: id,
        url: channelSetting(id, config, 'webhook', context),
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        // mrkdwn's bold for the subject; the body goes as written.
        body: JSON.stringify({ text: `*${message.subject}*\n${message.body}` }),
        timeoutMs: context.timeoutMs,
        signal,
      });
      return {};
    },
  }),
};
