/**
 * The server backend, used when LIFEBOAT_DATABASE_URL names a PostgreSQL database: several
 * Lifeboat processes on several hosts then share one state.
 */
import pg from 'pg';
import { EnvironmentError, UsageError, coerceError } from '../errors.js';
import type { Driver, Row, SqlExecutor, SqlValue } from './driver.js';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * COUNT(*) and BIGINT columns (byte counts, durations) come back from pg as strings, to
 * keep precision past 2^53. Byte counts never get there, so parse them as numbers — on this
 * pool only, not through pg's global type registry that other code in the process shares.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The URL with its password (in the user part or as `?password=`) replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
}

function parseTarget(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('the state store URL is not a valid URL', {
      hint: 'LIFEBOAT_DATABASE_URL takes the form postgres://USER:PASSWORD@HOST:5432/DATABASE',
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new UsageError(`the state store URL must be a postgres:// URL, not ${parsed.protocol}//`, {
      hint: 'LIFEBOAT_DATABASE_URL takes the form postgres://USER:PASSWORD@HOST:5432/DATABASE; unset it to use SQLite',
    });
  }
  const user = decodeURIComponent(parsed.username) || process.env.PGUSER || 'postgres';
  return {
    host: decodeURIComponent(parsed.hostname) || 'localhost',
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.slice(1)) || user,
    user,
  };
}

function connectHint(error: unknown, { host, port, database, user }: Target): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return `nothing accepts connections on ${host}:${port}: check that PostgreSQL runs and listens there (listen_addresses, port)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name ${host} does not resolve: check the host in LIFEBOAT_DATABASE_URL`;
    case '28P01':
      return `password authentication failed for user ${user}: check the password in LIFEBOAT_DATABASE_URL (not shown here)`;
    case '28000':
      return `the server refuses user ${user} from this host: check the user name and the server's pg_hba.conf`;
    case '3D000':
      return `database ${database} does not exist on ${host}:${port}: create it (createdb ${database}) or fix the URL`;
  }
  if (/timeout/i.test(coerceError(error).message)) {
    return `no answer from ${host}:${port} in ${CONNECT_TIMEOUT_MS / 1000} s: check the address, firewalls and the server's load`;
  }
  return `check that PostgreSQL runs on ${host}:${port} and that LIFEBOAT_DATABASE_URL names the right user (${user}) and database (${database})`;
}

const placeholderCache = new Map<string, string>();

/** Rewrites `?` placeholders to `$1, $2, …`, leaving quoted text and `--` comments alone. */
export function toPostgresPlaceholders(sql: string): string {
  const cached = placeholderCache.get(sql);
  if (cached !== undefined) return cached;
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql.charAt(i);
    if (quote) {
      if (c === quote) quote = undefined;
      out += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if (c === '-' && sql.charAt(i + 1) === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else {
      out += c === '?' ? `$${++n}` : c;
    }
  }
  placeholderCache.set(sql, out);
  return out;
}

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    query: async (sql, params = []) =>
      (await client.query<Row>(toPostgresPlaceholders(sql), params as SqlValue[])).rows,
    run: async (sql, params = []) =>
      (await client.query(toPostgresPlaceholders(sql), params as SqlValue[])).rowCount ?? 0,
    // Without parameters pg uses the simple query protocol, which takes several statements.
    exec: async (sql) => void (await client.query(sql)),
  };
}

export async function openPostgresDriver(url: string): Promise<Driver> {
  const target = parseTarget(url);
  const location = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 10_000,
    // A CLI command must be able to exit even if a caller forgot close().
    allowExitOnIdle: true,
    application_name: 'lifeboat',
    types,
  });
  // An idle connection that the server drops emits 'error' on the pool, which would
  // otherwise crash the process; the next query gets a fresh connection or a real error.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new EnvironmentError(
      `cannot connect to the PostgreSQL state store at ${target.host}:${target.port}: ${coerceError(error).message}`,
      { cause: error, hint: connectHint(error, target), details: { url: location, ...target } },
    );
  }

  let closing: Promise<void> | undefined;
  return {
    backend: 'postgres',
    location,
    ...executor(pool),
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A connection whose ROLLBACK failed is in an unknown state: release it as broken.
        await client
          .query('ROLLBACK')
          .catch((rollbackError: unknown) => (broken = coerceError(rollbackError)));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => (closing ??= pool.end()),
  };
}
