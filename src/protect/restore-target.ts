/**
 * Where a restore goes, per kind of target: reading `--to` into a target (pure), looking at
 * what is there now (is it new, empty, holding data?), and the few changes a confirmed restore
 * makes before writing (dropping a database, flushing a Redis server, moving a dump aside).
 *
 * The rule these serve is "nothing is lost": `observeTarget` lists everything a restore would
 * replace, and the restore refuses to run while that list is not empty unless the user
 * confirmed it. A database that exists counts as occupied even when empty, because a
 * PostgreSQL or MySQL restore must drop it to write into it.
 */
import { existsSync, readdirSync, realpathSync, renameSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { RefusedError, UsageError } from '../errors.js';
import { resolveSecret } from '../plan/secret.js';
import type { SourceConfig } from '../plan/schema.js';
import { mysqlIdent, mysqlLiteral, mysqlRows, parseMysqlUrl } from './sources/mysql-client.js';
import { parsePgUrl, psqlRows, sqlLiteral } from './sources/postgres-client.js';
import { parseRedisUrl, redisCli } from './sources/redis-client.js';
import { runTool, toolFailed } from './sources/tool.js';
import { redactUrl } from './restic/redact.js';

/** A PostgreSQL or MySQL server that databases are restored into. */
interface DatabaseServerTarget {
  /** The server, connected to a maintenance database; may hold a password (never print it). */
  url: string;
  host: string;
  port: number;
  /** Source database (as backed up) → database to create on the target. */
  databases: Record<string, string>;
  /** The dataset's own live source. */
  source: boolean;
}

export type PostgresTarget = DatabaseServerTarget & { kind: 'postgres' };
export type MysqlTarget = DatabaseServerTarget & { kind: 'mysql' };

export type TargetSpec =
  | PostgresTarget
  | MysqlTarget
  | { kind: 'redis-server'; url: string; host: string; port: number; source: boolean }
  | {
      kind: 'directory';
      path: string;
      source: boolean;
    };

export interface TargetRequest {
  dataset: string;
  /** The dataset's source, secrets resolved. */
  source: SourceConfig;
  /** `--to`: `source`, a server URL (or `env:NAME` holding one), or a directory. */
  to: string;
  /** `--database SRC` or `SRC=DEST`, repeated (PostgreSQL and MySQL). */
  databases: string[];
  /** The databases the recovery point holds. */
  backedUpDatabases: string[];
  planDir: string;
  /** `.lifeboat/`: never a restore target. */
  homeDir: string;
  /** Relative directory targets start here. Default: process.cwd(). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Reads `--to` for the dataset's kind of source. Throws UsageError or RefusedError. No I/O but secrets. */
export function resolveTarget(request: TargetRequest): TargetSpec {
  const { source, dataset } = request;
  const to = request.to.trim();
  if (to === '') throw new UsageError('--to is empty', { hint: toHint(source.type) });
  const isSource = to === 'source';
  if (source.type === 'external') {
    throw new UsageError(
      `dataset '${dataset}' is kept by a vendor (external source); Lifeboat has no backup of it to restore`,
    );
  }
  const value = isSource ? '' : resolveSecret(to, request.planDir, request.env);
  if (source.type !== 'postgres' && source.type !== 'mysql' && request.databases.length > 0) {
    throw new UsageError(
      `--database applies to PostgreSQL and MySQL datasets; '${dataset}' is ${source.type}`,
    );
  }

  if (source.type === 'postgres' || source.type === 'mysql') {
    const url = isSource ? source.url : value;
    const scheme = source.type === 'postgres' ? /^postgres(ql)?:\/\//i : /^(mysql|mariadb):\/\//i;
    if (!scheme.test(url)) {
      throw new UsageError(
        `dataset '${dataset}' is restored into a ${source.type === 'postgres' ? 'PostgreSQL' : 'MySQL'} server, not ${JSON.stringify(to)}`,
        {
          hint: toHint(source.type),
        },
      );
    }
    const named = isSource ? undefined : urlDatabase(source.type, url);
    const databases = mapDatabases(dataset, named, request.databases, request.backedUpDatabases, isSource);
    if (source.type === 'postgres') {
      const conn = parsePgUrl(url);
      // Connect to a database the restore leaves alone: `postgres`, or template1 when
      // `postgres` itself is restored (it cannot be dropped while we are connected to it).
      const maintenance = Object.values(databases).includes('postgres') ? 'template1' : 'postgres';
      return {
        kind: 'postgres',
        url: withPgDatabase(url, maintenance),
        host: conn.host,
        port: conn.port,
        databases,
        source: isSource,
      };
    }
    const conn = parseMysqlUrl(url);
    const server = new URL(url);
    server.pathname = '/';
    return {
      kind: 'mysql',
      url: server.toString(),
      host: conn.host,
      port: conn.port,
      databases,
      source: isSource,
    };
  }

  if (source.type === 'redis' && (isSource || /^rediss?:\/\//i.test(value))) {
    const url = isSource ? source.url : value;
    const conn = parseRedisUrl(url);
    return { kind: 'redis-server', url, host: conn.host, port: conn.port, source: isSource };
  }
  if (!isSource && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new UsageError(
      `dataset '${dataset}' (${source.type}) is restored into a directory, not ${redactUrl(value)}`,
      {
        hint: toHint(source.type),
      },
    );
  }

  if (isSource) {
    if (source.type === 'files') return { kind: 'directory', path: '/', source: true };
    if (source.type === 'command') {
      if (source.restore === undefined) {
        throw new UsageError(
          `dataset '${dataset}' has no restore command, so it cannot be restored over its source`,
          {
            hint: 'add `restore:` to its source (a shell command reading the backup on standard input), or --to DIR to get the file back',
          },
        );
      }
      return { kind: 'directory', path: request.planDir, source: true };
    }
  }
  const path = canonical(resolve(request.cwd ?? process.cwd(), value));
  refuseForbiddenDirectory(request, path);
  return { kind: 'directory', path, source: false };
}

function toHint(type: string): string {
  switch (type) {
    case 'postgres':
      return '--to postgres://HOST:PORT/NEWDB (a new database), --to postgres://HOST:PORT/ with --database SRC=DEST, or --to source --force';
    case 'mysql':
      return '--to mysql://USER@HOST:PORT/NEWDB, --to mysql://USER@HOST:PORT/ with --database SRC=DEST, or --to source --force';
    case 'redis':
      return '--to redis://HOST:PORT (a server), --to DIR (writes DIR/dump.rdb), or --to source --force';
    default:
      return '--to DIR (a new or empty directory), or --to source --force';
  }
}

function urlDatabase(type: 'postgres' | 'mysql', url: string): string | undefined {
  if (type === 'postgres') return parsePgUrl(url).database || undefined;
  return parseMysqlUrl(url).database || undefined;
}

/** `postgres://u:p@h:5432/x?sslmode=require` → the same with database `database`. */
function withPgDatabase(url: string, database: string): string {
  const m = /^(postgres(?:ql)?:\/\/[^/?#]*)(?:\/[^?#]*)?(\?[^#]*)?$/i.exec(url.trim());
  if (!m) throw new UsageError('a PostgreSQL url must be a libpq URI: postgres://user@host:port/database');
  const query = (m[2] ?? '').replace(/([?&])dbname=[^&]*&?/, '$1').replace(/[?&]$/, '');
  return `${m[1]}/${encodeURIComponent(database)}${query}`;
}

/**
 * Which backed-up databases go where. A URL naming a database takes exactly one (the only one,
 * or the one `--database SRC` picks); otherwise `--database SRC[=DEST]` picks, and without it
 * every database keeps its name.
 */
function mapDatabases(
  dataset: string,
  named: string | undefined,
  args: string[],
  backedUp: string[],
  isSource: boolean,
): Record<string, string> {
  const pairs = args.map((arg) => {
    const eq = arg.indexOf('=');
    const src = (eq < 0 ? arg : arg.slice(0, eq)).trim();
    const dest = (eq < 0 ? src : arg.slice(eq + 1)).trim();
    if (src === '' || dest === '')
      throw new UsageError(`--database ${JSON.stringify(arg)}: write SRC or SRC=DEST`);
    if (!backedUp.includes(src)) {
      throw new UsageError(
        `--database ${src}: this recovery point of '${dataset}' holds no database '${src}'`,
        {
          hint: `it holds: ${backedUp.join(', ') || '(none)'}`,
        },
      );
    }
    return [src, dest] as const;
  });
  if (isSource && pairs.some(([src, dest]) => src !== dest)) {
    throw new UsageError(
      '--to source restores databases under their own names; to restore under another name give the server url',
    );
  }
  let mapping: Record<string, string>;
  if (named !== undefined) {
    if (pairs.length > 1) {
      throw new UsageError(`--to names one database (${named}) but --database picks ${pairs.length}`, {
        hint: 'give the server url without a database (postgres://HOST:PORT/) and --database SRC=DEST for each',
      });
    }
    const [pair] = pairs;
    if (pair && pair[1] !== pair[0] && pair[1] !== named) {
      throw new UsageError(`--to names database ${named} but --database says ${pair[0]}=${pair[1]}`);
    }
    const src = pair?.[0] ?? (backedUp.length === 1 ? backedUp[0] : undefined);
    if (src === undefined) {
      throw new UsageError(
        `--to names one database (${named}) but this recovery point of '${dataset}' holds ${backedUp.length}: ${backedUp.join(', ')}`,
        {
          hint: `pick one with --database SRC (e.g. --database ${backedUp.find((d) => d !== 'postgres') ?? backedUp[0]}), or give the server url without a database to restore them all`,
        },
      );
    }
    mapping = { [src]: named };
  } else {
    mapping = Object.fromEntries(pairs.length > 0 ? pairs : backedUp.map((db) => [db, db]));
  }
  const destinations = Object.values(mapping);
  const twice = destinations.find((d, i) => destinations.indexOf(d) !== i);
  if (twice) throw new UsageError(`two databases would be restored into the same database ${twice}`);
  if (destinations.length === 0)
    throw new UsageError(`this recovery point of '${dataset}' holds no database`);
  return mapping;
}

/**
 * A directory target must not be the plan's own `.lifeboat/` nor land on the dataset's live
 * files: restored files go to `DIR/<absolute source path>`, so `--to /` would be the source
 * itself. Restoring over the live files is `--to source`, which always asks for confirmation.
 */
function refuseForbiddenDirectory(request: TargetRequest, dir: string): void {
  const home = canonical(resolve(request.homeDir));
  if (isInside(dir, home)) {
    throw new RefusedError(
      `${dir} is inside Lifeboat's own directory ${home} (state and repository); a restore never goes there`,
      {
        hint: 'restore into a directory outside it',
      },
    );
  }
  if (request.source.type !== 'files') return;
  const live = request.source.paths.map((p) => canonical(resolve(request.planDir, p)));
  for (const path of live) {
    const landing = join(dir, path);
    const hit = live.find((l) => isInside(dir, l) || isInside(landing, l) || isInside(l, landing));
    if (hit) {
      throw new RefusedError(
        `--to ${dir} would put restored files inside the live source path ${hit} of dataset '${request.dataset}'`,
        {
          hint: 'restore into a directory outside the source paths, or over the live files with --to source --force',
          details: { target: dir, sourcePath: hit },
        },
      );
    }
  }
}

/** True when `path` is `parent` or below it. */
export function isInside(path: string, parent: string): boolean {
  const rel = relative(parent, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The path with symlinks of its existing part resolved, so `..` and links cannot hide where it lands. */
function canonical(path: string): string {
  let existing = path;
  const rest: string[] = [];
  while (!existsSync(existing)) {
    const parent = resolve(existing, '..');
    if (parent === existing) return path;
    rest.unshift(basename(existing));
    existing = parent;
  }
  return join(realpathSync(existing), ...rest);
}

// ---------------------------------------------------------------------------------------------
// Looking at the target

export interface TargetObservation {
  /** One line per thing the restore would replace or write over. Empty: the target is new or empty. */
  occupied: string[];
  /** What a confirmed restore does to them, for the confirmation prompt. */
  actions: string[];
  /** Databases (destination names) that exist on the target now. */
  existingDatabases: string[];
}

export async function observeTarget(spec: TargetSpec, sourceType: string): Promise<TargetObservation> {
  switch (spec.kind) {
    case 'postgres':
      return observePostgres(spec);
    case 'mysql':
      return observeMysql(spec);
    case 'redis-server':
      return observeRedis(spec);
    case 'directory':
      return observeDirectory(spec, sourceType);
  }
}

async function observePostgres(spec: PostgresTarget): Promise<TargetObservation> {
  const conn = parsePgUrl(spec.url);
  const names = Object.values(spec.databases);
  const existing = (
    await psqlRows(
      conn,
      `SELECT datname FROM pg_database WHERE datname IN (${names.map(sqlLiteral).join(', ')}) ORDER BY 1`,
    )
  ).map((r) => r[0] ?? '');
  const occupied: string[] = [];
  for (const name of existing) {
    const [row] = await psqlRows(
      conn.withDatabase(name),
      `SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')), count(*)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
    );
    occupied.push(
      `database "${name}" on ${spec.host}:${spec.port} ${describeCounts(Number(row?.[0] ?? 0), Number(row?.[1] ?? 0))}`,
    );
  }
  return {
    occupied,
    actions: existing.map(
      (name) => `DROP DATABASE "${name}" (closing its connections) and create it again from the backup`,
    ),
    existingDatabases: existing,
  };
}

async function observeMysql(spec: MysqlTarget): Promise<TargetObservation> {
  const conn = parseMysqlUrl(spec.url);
  const names = Object.values(spec.databases);
  const existing = (
    await mysqlRows(
      conn,
      `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${names.map(mysqlLiteral).join(', ')}) ORDER BY 1`,
    )
  ).map((r) => r[0] ?? '');
  const occupied: string[] = [];
  for (const name of existing) {
    const [row] = await mysqlRows(
      conn,
      `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${mysqlLiteral(name)} AND TABLE_TYPE = 'BASE TABLE'),
              (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${mysqlLiteral(name)})
            + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${mysqlLiteral(name)})`,
    );
    occupied.push(
      `database \`${name}\` on ${spec.host}:${spec.port} ${describeCounts(Number(row?.[0] ?? 0), Number(row?.[1] ?? 0))}`,
    );
  }
  return {
    occupied,
    actions: existing.map((name) => `DROP DATABASE \`${name}\` and create it again from the backup`),
    existingDatabases: existing,
  };
}

function describeCounts(tables: number, objects: number): string {
  if (objects === 0) return 'exists (empty)';
  const others = objects - tables;
  return `holds ${tables} table(s)${others > 0 ? ` and ${others} other object(s)` : ''}`;
}

async function observeRedis(spec: Extract<TargetSpec, { kind: 'redis-server' }>): Promise<TargetObservation> {
  const keys = await redisKeyCount(spec.url);
  return keys === 0
    ? { occupied: [], actions: [], existingDatabases: [] }
    : {
        occupied: [`Redis at ${spec.host}:${spec.port} holds ${keys} key(s)`],
        actions: [
          `FLUSHALL on ${spec.host}:${spec.port} (every key of every database is deleted), then load the backup`,
        ],
        existingDatabases: [],
      };
}

export async function redisKeyCount(url: string): Promise<number> {
  const keyspace = await redisCli(parseRedisUrl(url), ['INFO', 'keyspace']);
  return [...keyspace.matchAll(/^db\d+:keys=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function observeDirectory(
  spec: Extract<TargetSpec, { kind: 'directory' }>,
  sourceType: string,
): Promise<TargetObservation> {
  if (!existsSync(spec.path)) return { occupied: [], actions: [], existingDatabases: [] };
  if (!statSync(spec.path).isDirectory()) {
    throw new UsageError(`${spec.path} exists and is not a directory`, {
      hint: 'give a new or empty directory',
    });
  }
  if (spec.source) {
    return {
      occupied: [],
      actions:
        sourceType === 'files'
          ? [
              'write the backed-up files over the live ones at their original paths (files created since are kept)',
            ]
          : ['run the restore command against the live system'],
      existingDatabases: [],
    };
  }
  const entries = readdirSync(spec.path);
  if (entries.length === 0) return { occupied: [], actions: [], existingDatabases: [] };
  const action =
    sourceType === 'redis'
      ? entries.includes('dump.rdb')
        ? `move the existing ${join(spec.path, 'dump.rdb')} aside (renamed, not deleted), then write the backup's`
        : `write dump.rdb into ${spec.path}`
      : sourceType === 'command'
        ? `restore into ${spec.path}; a file of the same name is overwritten`
        : `restore into ${spec.path}; files of the same path are overwritten, others are kept`;
  return {
    occupied: [
      `directory ${spec.path} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'})`,
    ],
    actions: [action],
    existingDatabases: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Preparing a confirmed target

/** Drops a database on a PostgreSQL or MySQL target; PostgreSQL's connections to it are closed first. */
export async function dropDatabase(spec: PostgresTarget | MysqlTarget, name: string): Promise<void> {
  if (spec.kind === 'mysql') {
    await mysqlRows(parseMysqlUrl(spec.url), `DROP DATABASE IF EXISTS ${mysqlIdent(name)}`);
    return;
  }
  const conn = parsePgUrl(spec.url);
  const [version] = await psqlRows(conn, "SELECT current_setting('server_version_num')::int");
  const ident = `"${name.replace(/"/g, '""')}"`;
  if (Number(version?.[0]) >= 130000) {
    await psqlRows(conn, `DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`);
  } else {
    await psqlRows(
      conn,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${sqlLiteral(name)} AND pid <> pg_backend_pid()`,
    );
    await psqlRows(conn, `DROP DATABASE IF EXISTS ${ident}`);
  }
}

/** The roles a PostgreSQL target has now. */
export async function postgresRoles(spec: PostgresTarget): Promise<Set<string>> {
  return new Set(
    (await psqlRows(parsePgUrl(spec.url), 'SELECT rolname FROM pg_roles')).map((r) => r[0] ?? ''),
  );
}

const ident = String.raw`("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`;
const roleStatement = new RegExp(String.raw`^(?:CREATE|ALTER|COMMENT ON) ROLE ${ident}(?=[\s;])`);
const membershipStatement = new RegExp(String.raw`^GRANT ${ident} TO ${ident}(?=[\s;])`);

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}

/**
 * The globals script (`pg_dumpall --globals-only`) without the statements that would change
 * roles the target already has: their passwords, attributes, settings and memberships stay
 * as the target's owners set them. Missing roles are created as backed up, so the restored
 * objects keep their owners.
 */
export function withoutExistingRoles(
  sql: string,
  existing: ReadonlySet<string>,
): { sql: string; created: string[]; kept: string[] } {
  const created = new Set<string>();
  const kept = new Set<string>();
  const lines = sql.split('\n').filter((line) => {
    const role = roleStatement.exec(line);
    if (role) {
      const name = unquote(role[1]!);
      if (existing.has(name)) {
        kept.add(name);
        return false;
      }
      if (line.startsWith('CREATE')) created.add(name);
      return true;
    }
    const grant = membershipStatement.exec(line);
    if (grant && existing.has(unquote(grant[2]!))) return false;
    return true;
  });
  return { sql: lines.join('\n'), created: [...created], kept: [...kept] };
}

/** Empties a Redis server: every key of every database. */
export async function flushRedis(url: string): Promise<void> {
  await redisCli(parseRedisUrl(url), ['FLUSHALL']);
}

/**
 * Copies every key of every database from `fromUrl` (a throwaway server loaded with the
 * backup) into `toUrl` with MIGRATE ... COPY, which keeps values and TTLs exactly. The
 * keys never leave the servers, so any key name works; the target's password reaches
 * redis-cli on standard input (`-x`), never in arguments.
 */
export async function copyRedisKeys(fromUrl: string, toUrl: string): Promise<number> {
  const from = parseRedisUrl(fromUrl);
  const to = parseRedisUrl(toUrl);
  const keyspace = await redisCli(from, ['INFO', 'keyspace']);
  let copied = 0;
  for (const m of keyspace.matchAll(/^db(\d+):keys=(\d+)/gm)) {
    const db = Number(m[1]);
    let cursor = '0';
    do {
      const args = ['EVAL', migrateScript, '0', cursor, String(db), to.host, String(to.port), to.user ?? ''];
      const result = await runTool(
        'redis-cli',
        [...from.args, '-e', '--raw', '-n', String(db), ...(to.password ? ['-x'] : []), ...args],
        {
          env: from.env,
          ...(to.password ? { stdin: to.password } : {}),
          secrets: [to.password ?? '', from.password ?? ''].filter((s) => s !== ''),
          timeoutMs: 600_000,
        },
      );
      if (result.code !== 0)
        throw toolFailed('redis-cli', result, `copying keys into Redis at ${to.host}:${to.port}`);
      const [next = '0', count = '0'] = result.stdout.split('\n');
      cursor = next.trim();
      copied += Number(count);
    } while (cursor !== '0');
  }
  return copied;
}

/** ARGV: cursor, db, host, port, user, [password]. Returns the next cursor and how many keys moved. */
const migrateScript = `
local r = redis.call('SCAN', ARGV[1], 'COUNT', 500)
local keys = r[2]
if #keys > 0 then
  local cmd = { 'MIGRATE', ARGV[3], ARGV[4], '', ARGV[2], 60000, 'COPY' }
  if ARGV[6] ~= nil and ARGV[6] ~= '' then
    if ARGV[5] ~= '' then
      cmd[#cmd + 1] = 'AUTH2'; cmd[#cmd + 1] = ARGV[5]
    else
      cmd[#cmd + 1] = 'AUTH'
    end
    cmd[#cmd + 1] = ARGV[6]
  end
  cmd[#cmd + 1] = 'KEYS'
  for _, k in ipairs(keys) do cmd[#cmd + 1] = k end
  redis.call(unpack(cmd))
end
return { r[1], tostring(#keys) }
`;

/** Renames `file` to `file.before-restore-<time>` and returns the new name, or undefined if there was none. */
export function moveAside(file: string, now: Date = new Date()): string | undefined {
  if (!existsSync(file)) return undefined;
  const aside = `${file}.before-restore-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
  renameSync(file, aside);
  return aside;
}

/** The target with any password masked: what plans, reports and the audit log show. */
export function describeTarget(spec: TargetSpec): string {
  switch (spec.kind) {
    case 'postgres':
    case 'mysql': {
      const pairs = Object.entries(spec.databases).map(([src, dest]) =>
        src === dest ? dest : `${src} → ${dest}`,
      );
      const what = spec.kind === 'postgres' ? 'PostgreSQL' : 'MySQL';
      return `${spec.source ? 'the live source, ' : ''}${what} ${spec.host}:${spec.port}, database${pairs.length > 1 ? 's' : ''} ${pairs.join(', ')}`;
    }
    case 'redis-server':
      return `${spec.source ? 'the live source, ' : ''}Redis ${spec.host}:${spec.port}`;
    case 'directory':
      return spec.source ? 'the live source (original paths)' : `directory ${spec.path}`;
  }
}
