/**
 * Talking to PostgreSQL through its own client tools: a libpq URI split into a password-free
 * URI plus PGPASSWORD (so no password shows in `ps`), and `psql --csv` for queries.
 */
import { EnvironmentError, OperationError, UsageError } from '../../errors.js';
import { firstLines, runTool, type RunResult } from '../../system/tool.js';

export interface PgConnection {
  /** The URI without its password; safe for args and messages. */
  readonly uri: string;
  /** PGPASSWORD when the URI had one; PGCONNECT_TIMEOUT so a dead host fails fast. */
  readonly env: Record<string, string>;
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly database: string | undefined;
  readonly password: string | undefined;
  /** The same server, another database. */
  withDatabase(database: string): PgConnection;
}

const uriPattern =
  /^(postgres(?:ql)?:\/\/)(?:([^:@/?#]*)(?::([^@/?#]*))?@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/;

/** Parses a libpq URI (`postgres://user:pass@host:port/db?sslmode=require`). */
export function parsePgUrl(url: string): PgConnection {
  const m = uriPattern.exec(url.trim());
  if (!m) {
    throw new UsageError('a PostgreSQL url must be a libpq URI: postgres://user@host:port/database', {
      hint: 'Key=value connection strings are not accepted; write the same settings as a URI.',
    });
  }
  const [, scheme = 'postgres://', rawUser, rawPassword, hosts = '', rawDb, rawQuery] = m;
  const params = new URLSearchParams(rawQuery ?? '');
  let password = rawPassword === undefined ? undefined : decodeURIComponent(rawPassword);
  const queryPassword = params.get('password');
  if (queryPassword !== null) {
    password = queryPassword;
    params.delete('password');
  }
  const firstHost = hosts.split(',')[0] ?? '';
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(firstHost);
  const host = decodeURIComponent(params.get('host') ?? hostPort?.[1] ?? '') || 'localhost';
  const port = Number(params.get('port') ?? hostPort?.[2] ?? 5432);
  const user = rawUser ? decodeURIComponent(rawUser) : (params.get('user') ?? undefined);
  const database = rawDb ? decodeURIComponent(rawDb) : (params.get('dbname') ?? undefined);
  params.delete('dbname');

  const build = (db: string | undefined): string => {
    const auth = rawUser ? `${rawUser}@` : '';
    const query = params.toString();
    return `${scheme}${auth}${hosts}/${db === undefined ? '' : encodeURIComponent(db)}${query ? `?${query}` : ''}`;
  };
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10' };
  if (password !== undefined) env.PGPASSWORD = password;
  const make = (db: string | undefined): PgConnection => ({
    uri: build(db),
    env,
    host,
    port,
    user,
    database: db,
    password,
    withDatabase: (other) => make(other),
  });
  return make(database);
}

/**
 * Session settings for measurements: a row's text form depends on them (time zone, float
 * digits, bytea format), so both sides of a comparison use the same ones.
 */
export const stableOutputOptions =
  '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex';

export type Row = (string | null)[];

/**
 * psql's CSV output prints NULL and '' alike, so NULL gets a marker; a text value that is
 * exactly `\N` reads as NULL too (the same convention as COPY's text format).
 */
const nullMarker = '\\N';

/** Runs one SQL statement with psql and returns its rows (NULL as null). */
export async function psqlRows(
  conn: PgConnection,
  sql: string,
  options: { stable?: boolean; snapshot?: string } = {},
): Promise<Row[]> {
  // In a transaction that reads an exported snapshot (see postgres-snapshot.ts).
  const statements = options.snapshot
    ? [
        'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
        `SET TRANSACTION SNAPSHOT ${sqlLiteral(options.snapshot)}`,
        sql,
        'COMMIT',
      ]
    : [sql];
  const result = await runTool(
    'psql',
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '--csv',
      '-t',
      '-P',
      `null=${nullMarker}`,
      '-d',
      conn.uri,
      ...statements.flatMap((statement) => ['-c', statement]),
    ],
    {
      env: { ...conn.env, ...(options.stable ? { PGOPTIONS: stableOutputOptions } : {}) },
      secrets: secretsOf(conn),
    },
  );
  if (result.code !== 0) throw pgFailure(conn, result, 'query');
  return parseCsv(result.stdout);
}

/** Runs an SQL script (several statements) with psql, stopping at the first error. */
export async function psqlScript(conn: PgConnection, sql: string): Promise<void> {
  const result = await runTool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', conn.uri, '-f', '-'], {
    env: conn.env,
    stdin: sql,
    secrets: secretsOf(conn),
  });
  if (result.code !== 0) throw pgFailure(conn, result, 'script');
}

export function secretsOf(conn: PgConnection): string[] {
  return conn.password ? [conn.password, encodeURIComponent(conn.password)] : [];
}

/** Messages libpq prints when it never reached a working session. */
const connectionFailure =
  /connection to server|could not connect|could not translate host name|timeout expired|no pg_hba\.conf entry|password authentication failed|database ".*" does not exist|role ".*" does not exist|server closed the connection/i;

/**
 * The error for a failed psql/pg_dump run: EnvironmentError naming host and port when the
 * server could not be reached or refused the login, OperationError otherwise.
 */
export function pgFailure(conn: PgConnection, result: RunResult, what: string): Error {
  const message = firstLines(result.stderr || result.stdout);
  if (connectionFailure.test(result.stderr)) {
    return new EnvironmentError(`PostgreSQL at ${conn.host}:${conn.port} is unreachable: ${message}`, {
      hint: 'Check that the server runs and accepts connections from here, and the host, port, user and password in the url.',
      details: { host: conn.host, port: conn.port, database: conn.database },
    });
  }
  return new OperationError(`PostgreSQL ${what} on ${conn.host}:${conn.port} failed: ${message}`, {
    details: { host: conn.host, port: conn.port, database: conn.database },
  });
}

/** Parses psql's CSV output (printed with `-P null=\\N`): an unquoted `\\N` is NULL. */
export function parseCsv(text: string): Row[] {
  const rows: Row[] = [];
  let row: Row = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return rows;
  for (;;) {
    let value: string | null;
    if (text[i] === '"') {
      let end = i + 1;
      let out = '';
      for (;;) {
        const q = text.indexOf('"', end);
        if (q < 0) throw new Error('parseCsv: unterminated quoted field');
        out += text.slice(end, q);
        if (text[q + 1] === '"') {
          out += '"';
          end = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      value = out;
    } else {
      let end = i;
      while (end < n && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
      value = text.slice(i, end);
      if (value === nullMarker) value = null;
      i = end;
    }
    row.push(value);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    rows.push(row);
    row = [];
    if (i >= n) return rows;
  }
}

/** Quotes an SQL literal. */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
