/**
 * Talking to Redis through redis-cli: the url split into host/port args plus REDISCLI_AUTH
 * (so no password shows in `ps`), and errors that name host and port.
 */
import { EnvironmentError, OperationError, UsageError } from '../../errors.js';
import { firstLines, runTool, type RunResult } from '../../system/tool.js';

export interface RedisConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
  /** redis-cli args that select the server (no password, no database). */
  readonly args: string[];
  /** REDISCLI_AUTH when the url has a password. */
  readonly env: Record<string, string>;
}

/** Parses `redis://[user[:password]@]host[:port][/db]` or `rediss://` (TLS). */
export function parseRedisUrl(url: string): RedisConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('a Redis url must look like redis://host:port', {
      hint: 'Put a password in it as redis://:PASSWORD@host:port (via env:).',
    });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`a Redis url must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = parsed.port ? Number(parsed.port) : 6379;
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const tls = parsed.protocol === 'rediss:';
  const args = ['-h', host, '-p', String(port)];
  // With only a password (redis://:pw@host), AUTH goes to the default user.
  if (user !== undefined && password !== undefined) args.push('--user', user);
  if (tls) args.push('--tls');
  return {
    host,
    port,
    user,
    password,
    tls,
    args,
    env: password === undefined ? {} : { REDISCLI_AUTH: password },
  };
}

/**
 * Runs one redis-cli command against database `db` and returns its raw output (an array
 * reply is one element per line). `-e` makes an error reply a non-zero exit.
 */
export async function redisCli(conn: RedisConnection, command: string[], db = 0): Promise<string> {
  const result = await runTool('redis-cli', [...conn.args, '-e', '--raw', '-n', String(db), ...command], {
    env: conn.env,
    secrets: conn.password ? [conn.password] : [],
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw redisFailure(conn, result, command[0] ?? 'command');
  return result.stdout;
}

const connectionFailure =
  /could not connect|connection refused|NOAUTH|WRONGPASS|invalid password|timed out|name or service not known/i;

export function redisFailure(conn: RedisConnection, result: RunResult, what: string): Error {
  const message = firstLines(`${result.stderr}\n${result.stdout}`);
  if (connectionFailure.test(message)) {
    return new EnvironmentError(`Redis at ${conn.host}:${conn.port} is unreachable: ${message}`, {
      hint: 'Check that the server runs and accepts connections from here, and the host, port and password in the url.',
      details: { host: conn.host, port: conn.port },
    });
  }
  return new OperationError(`Redis ${what} on ${conn.host}:${conn.port} failed: ${message}`, {
    details: { host: conn.host, port: conn.port },
  });
}
