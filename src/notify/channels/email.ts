/**
 * Email over SMTP with nodemailer. `smtp` is an `smtp://user:pass@host:port` (or `smtps://`)
 * URL behind `env:`/`file:`; `from` is the sender (default `lifeboat@<this host>`); the
 * message goes to the destination (a person's email), else to the channel's `to`.
 * The Message-ID is made from the idempotency key, so that a message sent again after a
 * crash carries the same id and mail clients show it once. SMTP 4xx answers are retried,
 * 5xx refusals are not.
 */
import { hostname } from 'node:os';
import nodemailer from 'nodemailer';
import { DeliveryError } from '../delivery-error.js';
import type { ChannelKind } from './channel.js';
import { channelSetting } from './credential.js';

const DEFAULT_TIMEOUT_MS = 30_000;

export function messageIdFor(idempotencyKey: string): string {
  return `<${idempotencyKey.replace(/[^A-Za-z0-9._-]/g, '_')}@lifeboat>`;
}

export const emailChannel: ChannelKind = {
  addresses: 'email',
  create: (id, config, context) => ({
    id,
    type: 'email',
    async send(message, destination, { idempotencyKey, signal }) {
      const to = destination ?? config.to;
      if (to === undefined || to.length === 0)
        throw new DeliveryError(`channels.${id}: no address to send to`, {
          retryable: false,
          hint: `give channels.${id} a \`to\`, or the people this stakeholder names an \`email\``,
        });
      const timeout = context.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const transport = nodemailer.createTransport(channelSetting(id, config, 'smtp', context), {
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
      });
      // nodemailer takes no AbortSignal: closing the transport ends the connection.
      const abort = () => transport.close();
      signal.addEventListener('abort', abort, { once: true });
      try {
        const info = await transport.sendMail({
          from: config.from ?? `Lifeboat <lifeboat@${hostname()}>`,
          to,
          subject: message.subject,
          text: message.body,
          messageId: messageIdFor(idempotencyKey),
          headers: { 'Idempotency-Key': idempotencyKey },
        });
        return { providerId: info.messageId };
      } catch (cause) {
        if (signal.aborted) throw cause;
        throw smtpError(id, cause);
      } finally {
        signal.removeEventListener('abort', abort);
        transport.close();
      }
    },
  }),
};

function smtpError(id: string, cause: unknown): DeliveryError {
  const error = cause as { responseCode?: unknown; code?: unknown; message?: unknown };
  const status = typeof error.responseCode === 'number' ? error.responseCode : undefined;
  const code = typeof error.code === 'string' ? error.code : undefined;
  // No SMTP answer at all: the server was unreachable or hung up; worth another try.
  const retryable = code !== 'EAUTH' && (status === undefined || (status >= 400 && status < 500));
  // nodemailer's messages quote the server's answer, never the URL's password.
  const said = typeof error.message === 'string' ? error.message.slice(0, 200) : String(cause);
  return new DeliveryError(`channels.${id}: SMTP ${status ?? code ?? 'error'}: ${said}`, {
    retryable,
    statusCode: status,
    cause,
    hint: retryable
      ? 'Lifeboat retries it'
      : code === 'EAUTH'
        ? `check the user and password in channels.${id}.smtp`
        : `check channels.${id} (the SMTP URL, from and to) and the server's answer`,
  });
}
