/**
 * Staging a restore in a live Redis server's spare databases (the numbered keyspaces that
 * `SELECT` picks), so that its live keys stay whole until one atomic switch. Each database
 * the restore replaces (the backup's, and every other one holding live keys, as FLUSHALL
 * would have emptied it) gets an empty spare, marked with the key `__lifeboat_restore_db`
 * (its value: the restore's id); the backup's keys are copied into the spares, then one Lua
 * script, atomic like every script, SWAPDBs each pair. The live keys end in the spares, marked
 * `__lifeboat_replaced_db`, and are kept until the user flushes them.
 *
 * Each step is one script, so that what it reads and what it writes cannot be interleaved
 * with a client or with another restore.
 */
import { OperationError, RefusedError } from '../../errors.js';
import { REPLACED_MARK, STAGING_MARK } from '../store.js';
import { parseRedisUrl, redisCli, type RedisConnection } from './client.js';

/** In a spare database: the restore that stages into it. */
export const STAGED_KEY = `${STAGING_MARK}db`;
/** In a database holding keys a restore replaced. */
export const REPLACED_KEY = `${REPLACED_MARK}db`;

export interface DatabaseState {
  db: number;
  keys: number;
  /** `live`: the server's own keys; `staged`: a restore's copy (`by` its id); `replaced`: kept aside. */
  state: 'live' | 'staged' | 'replaced';
  by?: string;
}

export interface Keyspace {
  /** How many databases the server has (its `databases` setting). */
  databases: number;
  /** The databases holding keys. */
  used: DatabaseState[];
}

/** A database the restore replaces and the spare its copy is staged in. */
export interface SparePair {
  live: number;
  spare: number;
}

// Shared by the scripts: `eachDatabase(f)` calls f(db) on every database the server has,
// found by SELECTing until the index is out of range (CONFIG may be disabled), and returns
// how many there are.
const luaPrelude = `
local STAGED, REPLACED = '${STAGED_KEY}', '${REPLACED_KEY}'
local function eachDatabase(f)
  local db = 0
  while db < 65536 do
    local ok = redis.pcall('SELECT', db)
    if type(ok) == 'table' and ok.err then break end
    f(db)
    db = db + 1
  end
  return db
end
local function stateOf()
  local by = redis.call('GET', STAGED)
  if by then return 'staged', by end
  if redis.call('EXISTS', REPLACED) == 1 then return 'replaced', '' end
  return 'live', ''
end
`;

/** Returns the database count, then `db keys state by` per database holding keys. */
const surveyScript = `${luaPrelude}
local out = {}
local count = eachDatabase(function(db)
  local keys = redis.call('DBSIZE')
  if keys > 0 then
    local state, by = stateOf()
    out[#out + 1] = db .. ' ' .. keys .. ' ' .. state .. ' ' .. by
  end
end)
table.insert(out, 1, tostring(count))
return out
`;

export async function surveyKeyspace(url: string): Promise<Keyspace> {
  const [count = '0', ...lines] = (await redisCli(parseRedisUrl(url), ['EVAL', surveyScript, '0']))
    .split('\n')
    .filter((l) => l !== '');
  return {
    databases: Number(count),
    used: lines.map((line) => {
      const [db, keys, state, by] = line.split(' ');
      return {
        db: Number(db),
        keys: Number(keys),
        state: state as DatabaseState['state'],
        ...(by ? { by } : {}),
      };
    }),
  };
}

/** The live keys of a server: its keyspace less what restores staged or kept aside. */
export function liveKeys(keyspace: Keyspace): number {
  return keyspace.used.filter((d) => d.state === 'live').reduce((sum, d) => sum + d.keys, 0);
}

/**
 * ARGV: id, force (1/0), the backup's databases. Picks one empty database (the highest
 * first: applications use the low ones) per database to replace, and marks it.
 */
const stageScript = `${luaPrelude}
local id, force = ARGV[1], ARGV[2] == '1'
local wanted, free, occupied = {}, {}, {}
for i = 3, #ARGV do wanted[tonumber(ARGV[i])] = true end
local count = eachDatabase(function(db)
  if redis.call('DBSIZE') == 0 then
    if not wanted[db] then free[#free + 1] = db end
  elseif stateOf() == 'live' then
    wanted[db] = true
    occupied[#occupied + 1] = tostring(db)
  end
end)
if not force and #occupied > 0 then return { 'occupied', unpack(occupied) } end
local live = {}
for db in pairs(wanted) do
  if db >= count then return { 'out-of-range', tostring(db), tostring(count) } end
  live[#live + 1] = db
end
table.sort(live)
if #free < #live then return { 'no-spare', tostring(#live), tostring(#free), tostring(count) } end
local out = { 'staged' }
for i, db in ipairs(live) do
  local spare = free[#free - i + 1]
  redis.call('SELECT', spare)
  redis.call('SET', STAGED, id)
  out[#out + 1] = db .. ':' .. spare
end
return out
`;

/** Marks a spare database for each database the restore replaces; refuses what it cannot stage. */
export async function stageSpares(
  url: string,
  id: string,
  force: boolean,
  backedUp: number[],
): Promise<SparePair[]> {
  const conn = parseRedisUrl(url);
  const reply = await evalLines(conn, stageScript, [id, force ? '1' : '0', ...backedUp.map(String)]);
  const [status, ...rest] = reply;
  if (status === 'staged') return rest.map(parsePair);
  throw stagingRefusal(conn, status, rest);
}

/**
 * ARGV: id, force (1/0), what the replaced keys' marker says, then `live:spare` pairs.
 * Checks everything first, so that it swaps all pairs or none.
 */
const swapScript = `${luaPrelude}
local id, force, note = ARGV[1], ARGV[2] == '1', ARGV[3]
local pairs_, involved = {}, {}
for i = 4, #ARGV do
  local live, spare = string.match(ARGV[i], '^(%d+):(%d+)$')
  live, spare = tonumber(live), tonumber(spare)
  pairs_[#pairs_ + 1] = { live, spare }
  involved[live], involved[spare] = true, true
end
for _, p in ipairs(pairs_) do
  redis.call('SELECT', p[2])
  if redis.call('GET', STAGED) ~= id then return { 'lost', tostring(p[2]) } end
  redis.call('SELECT', p[1])
  if not force and redis.call('DBSIZE') > 0 then return { 'occupied', tostring(p[1]) } end
end
-- A database that got live keys since the staging would keep them beside the restored ones.
local gained
eachDatabase(function(db)
  if not involved[db] and redis.call('DBSIZE') > 0 and stateOf() == 'live' then gained = db end
end)
if gained then return { 'gained', tostring(gained) } end
local out = { 'swapped' }
for _, p in ipairs(pairs_) do
  redis.call('SWAPDB', p[1], p[2])
  redis.call('SELECT', p[1])
  redis.call('DEL', STAGED)
  redis.call('SELECT', p[2])
  local kept = redis.call('DBSIZE')
  if kept > 0 then
    redis.call('SET', REPLACED, note .. ' (database ' .. p[1] .. ')')
    out[#out + 1] = p[1] .. ':' .. p[2] .. ':' .. kept
  end
end
return out
`;

/** What a swap moved aside: the keys of database `live`, now in `spare`. */
export interface Replaced extends SparePair {
  keys: number;
}

/** Switches every staged copy with the database it replaces, in one step. */
export async function swapIn(
  url: string,
  id: string,
  force: boolean,
  pairs: SparePair[],
): Promise<Replaced[]> {
  const conn = parseRedisUrl(url);
  const note = `replaced by Lifeboat restore ${id} at ${new Date().toISOString()}`;
  const reply = await evalLines(conn, swapScript, [
    id,
    force ? '1' : '0',
    note,
    ...pairs.map((p) => `${p.live}:${p.spare}`),
  ]);
  const [status, ...rest] = reply;
  if (status === 'swapped') {
    return rest.map((entry) => {
      const [live, spare, keys] = entry.split(':').map(Number);
      return { live: live!, spare: spare!, keys: keys! };
    });
  }
  throw stagingRefusal(conn, status, rest);
}

/** ARGV: the id whose staged databases are emptied, or '' for every restore's. */
const clearScript = `${luaPrelude}
local only = ARGV[1]
local out = {}
eachDatabase(function(db)
  local by = redis.call('GET', STAGED)
  if by and (only == '' or by == only) then
    out[#out + 1] = db .. ':' .. (redis.call('DBSIZE') - 1) .. ':' .. by
    redis.call('FLUSHDB', 'ASYNC')
  end
end)
return out
`;

export interface Cleared {
  db: number;
  keys: number;
  by: string;
}

/** Empties the spare databases restore `id` staged into (every restore's: `undefined`). */
export async function clearStaged(url: string, id: string | undefined): Promise<Cleared[]> {
  const lines = await evalLines(parseRedisUrl(url), clearScript, [id ?? '']);
  return lines.map((line) => {
    const [db, keys, by] = line.split(':');
    return { db: Number(db), keys: Number(keys), by: by ?? '' };
  });
}

async function evalLines(conn: RedisConnection, script: string, args: string[]): Promise<string[]> {
  return (await redisCli(conn, ['EVAL', script, '0', ...args])).split('\n').filter((l) => l !== '');
}

function parsePair(entry: string): SparePair {
  const [live, spare] = entry.split(':').map(Number);
  return { live: live!, spare: spare! };
}

function stagingRefusal(conn: RedisConnection, status: string | undefined, rest: string[]): Error {
  const where = `Redis at ${conn.host}:${conn.port}`;
  switch (status ?? '') {
    case 'occupied':
      return new RefusedError(
        `${where} holds keys now (database ${rest.join(', ')}); refusing to write into it`,
        {
          hint: 'confirm with --force to have them kept aside and replaced, or restore into an empty server',
        },
      );
    case 'out-of-range':
      return new RefusedError(
        `${where} has ${rest[1]} database(s); the backup holds keys in database ${rest[0]}`,
        {
          hint: 'raise `databases` in its configuration (takes a restart), or restore into a directory (--to DIR)',
        },
      );
    case 'no-spare':
      return new RefusedError(
        `${where} has ${rest[1]} empty database(s) of ${rest[2]}; the restore needs ${rest[0]} to stage the backup's keys beside the live ones`,
        {
          hint: 'raise `databases` in its configuration (takes a restart), flush databases a previous restore kept aside, or restore into a directory (--to DIR) and start the server on that dump.rdb',
        },
      );
    case 'lost':
      return new OperationError(
        `the staged copy in database ${rest[0]} of ${where} was changed by someone else`,
        {
          hint: 'make sure no other restore or client writes into it, and restore again',
        },
      );
    case 'gained':
      return new OperationError(`database ${rest[0]} of ${where} got keys while the restore ran`, {
        hint: 'stop the clients that write into the server, and restore again',
      });
    default:
      return new OperationError(`${where} answered the restore unexpectedly: ${[status, ...rest].join(' ')}`);
  }
}
