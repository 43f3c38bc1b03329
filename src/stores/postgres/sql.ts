/**
 * One-shot SQL for failover: a fresh `pg` connection per call, with a deadline on connect
 * and on the query. psql would do, but each call costs a process start, and a failover's
 * steps are timed in tenths of a second.
 */
import pg from 'pg';
import { EnvironmentError, OperationError } from '../../errors.js';

export interface QueryOptions {
  /** Give up (and drop the connection) after this long, connect included. Default: 10 s. */
  timeoutMs?: number;
  /** Query parameters ($1, $2...). Default: none. */
  params?: unknown[];
}

export type SqlRow = Record<string, unknown>;

/** Runs one statement on `url` and returns its rows. Errors name the host and what failed. */
export async function query(url: string, sql: string, options: QueryOptions = {}): Promise<SqlRow[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  // An error event after a failed query (the server went away) must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query(sql, options.params);
    return result.rows as SqlRow[];
  } catch (error) {
    throw sqlFailure(url, sql, error);
  } finally {
    dropClient(client);
  }
}

/** Ends a client without waiting for a server that may never answer. */
export function dropClient(client: pg.Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  client.end().catch(() => undefined);
  stream?.destroy();
}

/** True when `error` means the server could not be reached or dropped the session. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03'].includes(
      code,
    ) || /\btimeout\b|Connection terminated|not queryable|server closed the connection/i.test(message)
  );
}

function sqlFailure(url: string, sql: string, error: unknown): Error {
  const where = safeHost(url);
  const message = (error as Error).message ?? String(error);
  if (isConnectionError(error))
    return new EnvironmentError(`PostgreSQL at ${where} is unreachable: ${message}`, {
      hint: 'Check that the server runs and accepts connections from here.',
      cause: error,
      details: { server: where },
    });
  return new OperationError(`PostgreSQL at ${where}: ${firstWords(sql)} failed: ${message}`, {
    cause: error,
    details: { server: where },
  });
}

/** host:port of a URL, never its password. */
export function safeHost(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}`;
  } catch {
    return '(unparsable url)';
  }
}

function firstWords(sql: string): string {
  const words = sql.trim().split(/\s+/).slice(0, 4).join(' ');
  return words.length < sql.trim().length ? `${words}...` : words;
}
