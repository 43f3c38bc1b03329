/**
 * Talking to MySQL/MariaDB through the mariadb client tools: the url split into args plus
 * MYSQL_PWD (so no password shows in `ps`), and batch-mode queries parsed into rows.
 */
import { EnvironmentError, OperationError, UsageError } from '../../errors.js';
import { firstLines, runTool, type RunResult } from '../../system/tool.js';

export interface MysqlConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  readonly database: string | undefined;
  /**
   * Client args that select the server (no password). `--no-defaults` first: an option file
   * (~/.my.cnf) would otherwise override the url's user and password.
   */
  readonly args: string[];
  /** MYSQL_PWD when the url has a password. */
  readonly env: Record<string, string>;
}

/** Parses `mysql://user:password@host:port/[database]` (also `mariadb://`). */
export function parseMysqlUrl(url: string): MysqlConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('a MySQL url must look like mysql://user@host:port/', {
      hint: 'Pass the password via env: or file:.',
    });
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new UsageError(`a MySQL url must start with mysql://, not ${parsed.protocol}//`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = parsed.port ? Number(parsed.port) : 3306;
  const user = parsed.username ? decodeURIComponent(parsed.username) : 'root';
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const database = parsed.pathname.length > 1 ? decodeURIComponent(parsed.pathname.slice(1)) : undefined;
  // --protocol=TCP: "localhost" would otherwise mean the default unix socket, not the url's port.
  const args = ['--no-defaults', `--host=${host}`, `--port=${port}`, `--user=${user}`, '--protocol=TCP'];
  return {
    host,
    port,
    user,
    password,
    database,
    args,
    env: password === undefined ? {} : { MYSQL_PWD: password },
  };
}

/**
 * Runs SQL with the `mariadb` client in batch mode and returns the rows of the last result
 * (tab-separated fields, unescaped). NULL reads as the string `NULL`: select COALESCE(...)
 * where that matters.
 */
export async function mysqlRows(conn: MysqlConnection, sql: string, database?: string): Promise<string[][]> {
  const result = await runTool(
    'mariadb',
    [
      ...conn.args,
      '--batch',
      '--skip-column-names',
      '--connect-timeout=10',
      ...(database ? [`--database=${database}`] : []),
    ],
    {
      env: conn.env,
      stdin: sql,
      secrets: conn.password ? [conn.password] : [],
    },
  );
  if (result.code !== 0) throw mysqlFailure(conn, result, 'query');
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map(unescapeBatch));
}

/** Batch mode escapes backslash, tab, newline and NUL in values. */
function unescapeBatch(field: string): string {
  return field.replace(
    /\\([\\tn0])/g,
    (_, c: string) => ({ '\\': '\\', t: '\t', n: '\n', '0': '\0' })[c] ?? c,
  );
}

/** Quotes an identifier for MySQL. */
export function mysqlIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Quotes a string literal for MySQL. */
export function mysqlLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Client error codes that mean the server was never reached or refused the login. */
const connectionFailure =
  /ERROR 20(0[0-9]|1[0-9]|2[0-9]|5[0-9])\b|ERROR 1045\b|ERROR 1049\b|Can't connect|Unknown (MySQL|MariaDB) server host|Access denied/i;

export function mysqlFailure(conn: MysqlConnection, result: RunResult, what: string): Error {
  const message = firstLines(result.stderr || result.stdout);
  if (connectionFailure.test(message)) {
    return new EnvironmentError(`MySQL at ${conn.host}:${conn.port} is unreachable: ${message}`, {
      hint: 'Check that the server runs and accepts TCP connections from here, and the host, port, user and password in the url.',
      details: { host: conn.host, port: conn.port },
    });
  }
  return new OperationError(`MySQL ${what} on ${conn.host}:${conn.port} failed: ${message}`, {
    details: { host: conn.host, port: conn.port },
  });
}
