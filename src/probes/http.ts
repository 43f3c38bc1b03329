/**
 * HTTP(S): status, an optional text the body must contain, and for HTTPS the days left on the
 * server's certificate. node:http rather than fetch, because fetch does not expose the peer
 * certificate; a fresh connection per check (no keep-alive agent) so that the latency and the
 * certificate are those a new client would get.
 */
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { UsageError } from '../errors.js';
import type { Probe as ProbeConfig } from '../plan/schema.js';
import { resolveSecret } from '../plan/secret.js';
import { abortMessage, elapsed, failureText, type Probe, type ProbeContext } from './probe.js';

type HttpConfig = Extract<ProbeConfig, { type: 'http' }>;

export interface HttpProbeOptions {
  /** Extra certificate authorities to trust (PEM), beside the system's. Default: none. */
  ca?: string;
}

/** Only this much of the body is read for `expect.contains`: a probe must not download a file. */
const BODY_LIMIT = 256 * 1024;
const DAY_MS = 86_400_000;

export function httpProbe(
  id: string,
  config: HttpConfig,
  context: ProbeContext,
  options: HttpProbeOptions = {},
): Probe {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new UsageError(`probes.${id}.url is not a URL: ${config.url}`, {
      hint: 'Write it in full, e.g. https://shop.example.com/health.',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`probes.${id}.url must start with http:// or https://, not ${url.protocol}//`);
  const method = config.method ?? 'GET';
  const headers = Object.fromEntries(
    Object.entries(config.headers ?? {}).map(([name, value]) => [
      name,
      resolveSecret(value, context.planDir, context.env),
    ]),
  );
  const expectedStatus = config.expect?.status;
  const statusOk = (status: number): boolean =>
    expectedStatus === undefined
      ? status >= 200 && status < 400
      : Array.isArray(expectedStatus)
        ? expectedStatus.includes(status)
        : status === expectedStatus;
  const contains = config.expect?.contains;
  const target = `${method} ${url.origin}${url.pathname}`;

  return {
    id,
    kind: 'http',
    target,
    async check(signal) {
      const start = process.hrtime.bigint();
      try {
        const response = await request(url, method, headers, options, signal, contains !== undefined);
        const latencyMs = elapsed(start);
        const details = {
          status: response.status,
          ...(response.certDaysLeft === undefined ? {} : { certDaysLeft: response.certDaysLeft }),
        };
        if (!statusOk(response.status))
          return {
            ok: false,
            latencyMs,
            message: `${target} answered ${response.status}, expected ${describeStatus(expectedStatus)}`,
            details,
          };
        if (contains !== undefined && !response.body.includes(contains))
          return {
            ok: false,
            latencyMs,
            message: `${target} answered ${response.status} but the body lacks ${JSON.stringify(contains)}`,
            details,
          };
        return { ok: true, latencyMs, message: `${target} answered ${response.status}`, details };
      } catch (error) {
        const message = signal.aborted
          ? abortMessage(signal, target)
          : `${target} failed: ${failureText(error)}`;
        return { ok: false, latencyMs: elapsed(start), message };
      }
    },
  };
}

function describeStatus(expected: number | number[] | undefined): string {
  if (expected === undefined) return '2xx or 3xx';
  return Array.isArray(expected) ? `one of ${expected.join(', ')}` : String(expected);
}

interface Answer {
  status: number;
  body: string;
  certDaysLeft: number | undefined;
}

function request(
  url: URL,
  method: string,
  headers: Record<string, string>,
  options: HttpProbeOptions,
  signal: AbortSignal,
  readBody: boolean,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const send = secure ? https.request : http.request;
    const req = send(url, {
      method,
      headers: { 'user-agent': 'lifeboat-probe', ...headers },
      agent: false,
      signal,
      ...(secure && options.ca !== undefined ? { ca: options.ca } : {}),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      // Read before the socket closes: the certificate is gone once it has.
      const certDaysLeft = secure ? daysLeft(res.socket as TLSSocket) : undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (!readBody) return;
        if (size < BODY_LIMIT) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('error', reject);
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8'),
          certDaysLeft,
        });
      });
    });
    req.end();
  });
}

function daysLeft(socket: TLSSocket): number | undefined {
  const validTo = socket.getPeerCertificate?.().valid_to;
  if (!validTo) return undefined;
  return Math.floor((Date.parse(validTo) - Date.now()) / DAY_MS);
}
