/** Preparing a confirmed target: dropping databases, flushing Redis, moving files aside, copying keys. */
import { existsSync, renameSync } from 'node:fs';
import { mysqlIdent, mysqlRows, parseMysqlUrl } from '../stores/mysql/client.js';
import { parsePgUrl, psqlRows, sqlLiteral } from '../stores/postgres/psql.js';
import { parseRedisUrl, redisCli } from '../stores/redis/client.js';
import { runTool, toolFailed } from '../system/tool.js';

/** A PostgreSQL or MySQL server that databases are restored into. */
import type { MysqlTarget, PostgresTarget } from './restore-target.js';

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
