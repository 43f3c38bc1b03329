/**
 * Discord webhook (https://discord.com/developers/docs/resources/webhook#execute-webhook):
 * a JSON POST with `content` (at most 2000 characters); `?wait=true` makes Discord answer
 * with the message, whose id is kept. Mentions are disabled: a template that contains
 * `@everyone` must not page a whole server.
 */
import type { ChannelKind } from './channel.js';
import { channelSetting } from './credential.js';
import { jsonOf, postToProvider } from './http.js';

const MAX_CONTENT = 2000;

export const discordChannel: ChannelKind = {
  addresses: 'none',
  create: (id, config, context) => ({
    id,
    type: 'discord',
    async send(message, _destination, { idempotencyKey, signal }) {
      const url = new URL(channelSetting(id, config, 'webhook', context));
      url.searchParams.set('wait', 'true');
      const content = `**${message.subject}**\n${message.body}`;
      const answer = await postToProvider({
        channel: id,
        url: url.toString(),
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify({
          content: content.length > MAX_CONTENT ? `${content.slice(0, MAX_CONTENT - 1)}…` : content,
          allowed_mentions: { parse: [] },
        }),
        timeoutMs: context.timeoutMs,
        signal,
      });
      const id_ = jsonOf(answer.text)?.id;
      return typeof id_ === 'string' ? { providerId: id_ } : {};
    },
  }),
};
