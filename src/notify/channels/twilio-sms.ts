/** SMS through Twilio's Messages resource (https://www.twilio.com/docs/messaging/api/message-resource). */
import type { ChannelKind } from './channel.js';
import { postToTwilio, requirePhone } from './twilio.js';

/** Twilio splits longer bodies itself, up to 1600 characters. */
const MAX_BODY = 1600;

export const twilioSmsChannel: ChannelKind = {
  addresses: 'phone',
  create: (id, config, context) => ({
    id,
    type: 'sms',
    async send(message, destination, { signal }) {
      const text = `${message.subject}\n${message.body}`;
      return postToTwilio(
        id,
        config,
        context,
        'Messages',
        {
          To: requirePhone(id, destination),
          Body: text.length > MAX_BODY ? `${text.slice(0, MAX_BODY - 1)}…` : text,
        },
        signal,
      );
    },
  }),
};
