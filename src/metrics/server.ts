/**
 * The HTTP endpoint Prometheus scrapes: `GET /metrics` (the exposition, rendered on each
 * request) and `GET /healthz` (`ok` while the process serves). Plain node:http, since two
 * read-only routes need no framework. A failure while rendering answers 500 without its
 * details (they go to `onError`), as the HTTP surface's one catch-all.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvironmentError, UsageError } from '../errors.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface MetricsServerOptions {
  listen: ListenAddress;
  /** The exposition text; called for each scrape of /metrics. */
  render: () => Promise<string>;
  /** Told about a render that threw. Default: nothing. */
  onError?: (error: unknown) => void;
}

export interface MetricsServer {
  /** Where it listens, with the port the system chose when 0 was asked. */
  address: ListenAddress;
  /** `http://HOST:PORT/metrics`. */
  url: string;
  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void>;
}

/** `HOST:PORT` or `[IPv6]:PORT`; port 0 lets the system choose. */
export function parseListenAddress(text: string, option = '--metrics'): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new UsageError(`${option} takes HOST:PORT, not '${text}'`, {
      hint: `for example ${option} 127.0.0.1:9187 (or [::1]:9187; port 0 picks a free one)`,
    });
  }
  return { host: (match[1] ?? match[2])!, port };
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    void handle(request, response, options);
  });
  const { host, port } = options.listen;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    throw listenError(error as NodeJS.ErrnoException, options.listen);
  });
  const bound = server.address() as AddressInfo;
  const address = { host, port: bound.port };
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    address,
    url: `http://${hostInUrl}:${address.port}/metrics`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would hold the close open until it times out.
        server.closeAllConnections();
      })),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  options: MetricsServerOptions,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics' && path !== '/healthz') return reply(response, 404, 'not found: try /metrics\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return reply(response, 405, `${request.method} not allowed: use GET\n`);
  }
  if (path === '/healthz') return reply(response, 200, 'ok\n');
  try {
    const body = await options.render();
    reply(response, 200, body, EXPOSITION_CONTENT_TYPE, request.method === 'HEAD');
  } catch (error) {
    options.onError?.(error);
    reply(response, 500, 'the metrics could not be rendered; see the output of lifeboat run\n');
  }
}

function reply(
  response: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
  headOnly = false,
): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  response.end(headOnly ? undefined : body);
}

function listenError(error: NodeJS.ErrnoException, { host, port }: ListenAddress): Error {
  const where = `${host}:${port}`;
  const hints: Record<string, [string, string]> = {
    EADDRINUSE: [
      `another process already listens on ${where}`,
      'stop it, or give --metrics another port (port 0 picks a free one)',
    ],
    EACCES: [`this user may not listen on ${where}`, 'use a port above 1023, e.g. --metrics 127.0.0.1:9187'],
    EADDRNOTAVAIL: [
      `${host} is not an address of this machine`,
      'use 127.0.0.1, 0.0.0.0 (every interface) or one of its own addresses',
    ],
    ENOTFOUND: [`${host} does not resolve`, 'use an IP address or a host name of this machine'],
  };
  const [what, hint] = hints[error.code ?? ''] ?? [
    `cannot listen on ${where}: ${error.message}`,
    'check --metrics',
  ];
  return new EnvironmentError(`metrics: ${what}`, { hint, cause: error });
}
