/**
 * Twilio's REST API, shared by the SMS and voice channels: a form-encoded POST to
 * /2010-04-01/Accounts/<AccountSid>/<resource>.json with HTTP basic auth, answered 201 with
 * the created resource's `sid`. The credential is the channel's `api_key`, holding
 * `ACCOUNT_SID:AUTH_TOKEN` (or an API key `SK...:secret` with `ACCOUNT_SID` before it:
 * `ACCOUNT_SID:SK...:secret`); `from` is the Twilio number; `url` overrides the base URL
 * (default https://api.twilio.com). The API takes no idempotency key; a crash between send
 * and record may text or call twice.
 */
import { DeliveryError } from '../delivery-error.js';
import type { ChannelConfig, ChannelContext } from './channel.js';
import { channelSetting } from './credential.js';
import { jsonOf, postToProvider } from './http.js';

const DEFAULT_BASE = 'https://api.twilio.com';

export async function postToTwilio(
  id: string,
  config: ChannelConfig,
  context: ChannelContext,
  resource: 'Messages' | 'Calls',
  fields: Record<string, string>,
  signal: AbortSignal,
): Promise<{ providerId?: string }> {
  const parts = channelSetting(id, config, 'api_key', context).split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => part === ''))
    throw new DeliveryError(`channels.${id}.api_key does not hold ACCOUNT_SID:AUTH_TOKEN`, {
      retryable: false,
      hint: 'store the Twilio account SID and auth token joined by a colon (or ACCOUNT_SID:API_KEY_SID:API_KEY_SECRET)',
    });
  const [account, user, password] = parts.length === 3 ? parts : [parts[0], parts[0], parts[1]];
  const base = config.url ?? DEFAULT_BASE;
  const url = new URL(`/2010-04-01/Accounts/${encodeURIComponent(account!)}/${resource}.json`, base);
  const answer = await postToProvider({
    channel: id,
    url: url.toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    },
    body: new URLSearchParams({ From: channelSetting(id, config, 'from', context), ...fields }).toString(),
    timeoutMs: context.timeoutMs,
    signal,
  });
  const sid = jsonOf(answer.text)?.sid;
  return typeof sid === 'string' ? { providerId: sid } : {};
}

export function requirePhone(id: string, destination: string | null): string {
  if (destination) return destination;
  throw new DeliveryError(`channels.${id}: no phone number to send to`, {
    retryable: false,
    hint: 'give the people this stakeholder names a `phone`, or use another channel for them',
  });
}
