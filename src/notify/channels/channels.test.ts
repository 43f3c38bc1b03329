/**
 * Each channel's request is what its provider documents: checked on a local receiver (HTTP
 * providers, with their base URLs pointed at it) and a real local SMTP server (email).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { DeliveryError } from '../delivery-error.js';
import { startReceiver, type Receiver } from '../testing/receiver.js';
import type { ChannelConfig, ChannelContext, OutgoingMessage } from './channel.js';
import { channelKinds } from './index.js';

const SECRETS: Record<string, string> = {};
const context: ChannelContext = {
  secret: (ref) => (ref.startsWith('env:') ? (SECRETS[ref.slice(4)] ?? '') : ref),
  timeoutMs: 5000,
};
const message: OutgoingMessage = {
  subject: 'DB down',
  body: 'PostgreSQL is unreachable <&>',
  severity: 'high',
  incidentKey: 'lifeboat-inc-1',
};
const send = (config: ChannelConfig, destination: string | null = null, idempotencyKey = 'lb-key-1') =>
  channelKinds[config.type]!.create('test', config, context).send(message, destination, {
    idempotencyKey,
    signal: new AbortController().signal,
  });

const receivers: Receiver[] = [];
async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}
after(() => Promise.all(receivers.map((r) => r.close())));

describe('channels', () => {
  test('slack: a JSON POST with text to the webhook', async () => {
    const r = await receiver();
    SECRETS.SLACK = `${r.url}/services/T/B/X`;
    assert.deepEqual(await send({ type: 'slack', webhook: 'env:SLACK' }), {});
    const [req] = r.requests;
    assert.equal(req?.url, '/services/T/B/X');
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.equal(req?.headers['idempotency-key'], 'lb-key-1');
    assert.deepEqual(JSON.parse(req!.body), { text: '*DB down*\nPostgreSQL is unreachable <&>' });
  });

  test('teams: a message with one Adaptive Card, 202 accepted', async () => {
    const r = await receiver(() => ({ status: 202 }));
    SECRETS.TEAMS = `${r.url}/workflows/abc`;
    await send({ type: 'teams', webhook: 'env:TEAMS' });
    const body = JSON.parse(r.requests[0]!.body) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; version: string; body: { text: string }[] };
      }[];
    };
    assert.equal(body.type, 'message');
    assert.equal(body.attachments[0]?.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(body.attachments[0]?.content.type, 'AdaptiveCard');
    assert.deepEqual(
      body.attachments[0]?.content.body.map((b) => b.text),
      ['DB down', 'PostgreSQL is unreachable <&>'],
    );
  });

  test('discord: content with mentions off, ?wait=true, the message id kept', async () => {
    const r = await receiver(() => ({ status: 200, body: JSON.stringify({ id: '1234' }) }));
    SECRETS.DISCORD = `${r.url}/api/webhooks/1/tok`;
    assert.deepEqual(await send({ type: 'discord', webhook: 'env:DISCORD' }), { providerId: '1234' });
    const req = r.requests[0]!;
    assert.equal(req.url, '/api/webhooks/1/tok?wait=true');
    assert.deepEqual(JSON.parse(req.body), {
      content: '**DB down**\nPostgreSQL is unreachable <&>',
      allowed_mentions: { parse: [] },
    });
  });

  test('webhook: signed with HMAC-SHA256 over timestamp and body, with the idempotency key', async () => {
    const r = await receiver();
    SECRETS.HOOK_SECRET = 's3cret';
    await send({ type: 'webhook', url: `${r.url}/hook`, api_key: 'env:HOOK_SECRET' });
    const req = r.requests[0]!;
    const timestamp = String(req.headers['lifeboat-timestamp']);
    assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 10);
    const expected = `v1=${createHmac('sha256', 's3cret').update(`${timestamp}.${req.body}`).digest('hex')}`;
    assert.equal(req.headers['lifeboat-signature'], expected);
    assert.equal(req.headers['idempotency-key'], 'lb-key-1');
    const body = JSON.parse(req.body) as Record<string, unknown>;
    assert.equal(body.id, 'lb-key-1');
    assert.equal(body.subject, 'DB down');
    assert.equal(body.severity, 'high');
  });

  test('pagerduty: Events v2 enqueue with routing_key, event_action and dedup_key', async () => {
    const r = await receiver(() => ({
      status: 202,
      body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: 'lifeboat-inc-1' }),
    }));
    SECRETS.PD = 'R0UT1NGKEY';
    const config: ChannelConfig = { type: 'pagerduty', routing_key: 'env:PD', url: r.url };
    assert.deepEqual(await send(config), { providerId: 'lifeboat-inc-1' });
    const trigger = r.requests[0]!;
    assert.equal(trigger.url, '/v2/enqueue');
    assert.deepEqual(JSON.parse(trigger.body), {
      routing_key: 'R0UT1NGKEY',
      event_action: 'trigger',
      dedup_key: 'lifeboat-inc-1',
      payload: {
        summary: 'DB down',
        source: 'lifeboat',
        severity: 'error',
        custom_details: { body: 'PostgreSQL is unreachable <&>' },
      },
    });
    await channelKinds
      .pagerduty!.create('pd', config, context)
      .send({ ...message, action: 'resolve' }, null, {
        idempotencyKey: 'other',
        signal: new AbortController().signal,
      });
    assert.deepEqual(JSON.parse(r.requests[1]!.body), {
      routing_key: 'R0UT1NGKEY',
      event_action: 'resolve',
      dedup_key: 'lifeboat-inc-1',
    });
  });

  test('twilio sms: form POST to Messages.json with basic auth, the SID kept', async () => {
    const r = await receiver(() => ({ status: 201, body: JSON.stringify({ sid: 'SM123' }) }));
    SECRETS.TWILIO = 'AC42:authtoken';
    const config: ChannelConfig = { type: 'sms', api_key: 'env:TWILIO', from: '+15550000', url: r.url };
    assert.deepEqual(await send(config, '+15551234'), { providerId: 'SM123' });
    const req = r.requests[0]!;
    assert.equal(req.url, '/2010-04-01/Accounts/AC42/Messages.json');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('AC42:authtoken').toString('base64')}`);
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
    const form = new URLSearchParams(req.body);
    assert.equal(form.get('To'), '+15551234');
    assert.equal(form.get('From'), '+15550000');
    assert.equal(form.get('Body'), 'DB down\nPostgreSQL is unreachable <&>');
  });

  test('twilio voice: Calls.json with TwiML that says the message, escaped', async () => {
    const r = await receiver(() => ({ status: 201, body: JSON.stringify({ sid: 'CA9' }) }));
    const config: ChannelConfig = { type: 'phone', api_key: 'env:TWILIO', from: '+15550000', url: r.url };
    assert.deepEqual(await send(config, '+15551234'), { providerId: 'CA9' });
    const req = r.requests[0]!;
    assert.equal(req.url, '/2010-04-01/Accounts/AC42/Calls.json');
    const twiml = new URLSearchParams(req.body).get('Twiml') ?? '';
    assert.match(twiml, /<Response><Say>DB down\. PostgreSQL is unreachable &lt;&amp;&gt;<\/Say>/);
  });

  test('a 429 is retryable with its Retry-After; a 400 is not; an unreachable host is', async () => {
    const r = await receiver((_req, i) =>
      i === 0 ? { status: 429, headers: { 'retry-after': '7' } } : { status: 400, body: 'invalid_payload' },
    );
    SECRETS.SLACK = r.url;
    const config: ChannelConfig = { type: 'slack', webhook: 'env:SLACK' };
    await assert.rejects(send(config), (e: unknown) => {
      assert.ok(e instanceof DeliveryError);
      assert.equal(e.retryable, true);
      assert.equal(e.retryAfterMs, 7000);
      assert.equal(e.statusCode, 429);
      return true;
    });
    await assert.rejects(send(config), (e: unknown) => e instanceof DeliveryError && !e.retryable);
    SECRETS.SLACK = 'http://127.0.0.1:1/secret-path';
    await assert.rejects(send(config), (e: unknown) => {
      assert.ok(e instanceof DeliveryError && e.retryable);
      assert.doesNotMatch(e.message, /secret-path/, 'the webhook URL is a credential');
      return true;
    });
  });

  test('a channel without its credential refuses, naming the field', async () => {
    await assert.rejects(send({ type: 'slack' }), (e: unknown) => {
      assert.ok(e instanceof DeliveryError && !e.retryable);
      assert.match(e.message, /channels\.test has no `webhook`/);
      return true;
    });
  });

  test('email: delivered to a real SMTP server, Message-ID from the idempotency key', async () => {
    const received: { from: string; to: string[]; data: string; user?: string }[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onAuth(auth, _session, callback) {
        callback(null, { user: auth.username });
      },
      onData(stream, session, callback) {
        let data = '';
        stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.server.address() as AddressInfo;
      SECRETS.SMTP = `smtp://alert:pw@127.0.0.1:${port}`;
      const config: ChannelConfig = { type: 'email', smtp: 'env:SMTP', from: 'dr@example.com' };
      const result = await send(config, 'oncall@example.com', 'lb-abc');
      assert.equal(result.providerId, '<lb-abc@lifeboat>');
      assert.equal(received.length, 1);
      assert.equal(received[0]?.from, 'dr@example.com');
      assert.deepEqual(received[0]?.to, ['oncall@example.com']);
      assert.match(received[0]!.data, /^Subject: DB down$/m);
      assert.match(received[0]!.data, /^Message-ID: <lb-abc@lifeboat>$/im);
      assert.match(received[0]!.data, /PostgreSQL is unreachable <&>/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
