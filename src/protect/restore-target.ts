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
import { existsSync, realpathSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { RefusedError, UsageError } from '../errors.js';
import { resolveSecret } from '../plan/secret.js';
import type { SourceConfig } from '../plan/schema.js';
import { parseMysqlUrl } from '../stores/mysql/client.js';
import { parsePgUrl } from '../stores/postgres/psql.js';
import { parseRedisUrl } from '../stores/redis/client.js';
import { redactUrl } from '../engines/restic/redact.js';

/** A PostgreSQL or MySQL server that databases are restored into. */

export * from './restore-target-observe.js';
export * from './restore-target-prepare.js';

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
