/**
 * A phone call through Twilio's Calls resource (https://www.twilio.com/docs/voice/api/call-resource),
 * with inline TwiML that reads the message: `<Response><Say>…</Say></Response>`, twice, so
 * that someone who picks up late still hears it.
 */
import type { ChannelKind } from './channel.js';
import { postToTwilio, requirePhone } from './twilio.js';

/** Twilio refuses inline TwiML longer than 4000 characters. */
const MAX_SPOKEN = 1800;

export function twimlSay(text: string): string {
  const spoken = text.length > MAX_SPOKEN ? `${text.slice(0, MAX_SPOKEN)}…` : text;
  const say = `<Say>${escapeXml(spoken)}</Say>`;
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${say}<Pause length="1"/>${say}</Response>`;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

export const twilioVoiceChannel: ChannelKind = {
  addresses: 'phone',
  create: (id, config, context) => ({
    id,
    type: 'phone',
    async send(message, destination, { signal }) {
      return postToTwilio(
        id,
        config,
        context,
        'Calls',
        { To: requirePhone(id, destination), Twiml: twimlSay(`${message.subject}. ${message.body}`) },
        signal,
      );
    },
  }),
};
