/** A Redis server's keys as a restore target: copied in from a loaded copy. */
import { runTool, toolFailed } from '../../system/tool.js';
import { parseRedisUrl, redisCli } from './client.js';

/**
 * Copies every key of the databases `into` names, from `fromUrl` (a throwaway server loaded
 * with the backup) into `toUrl`, database `n` into database `into.get(n)`, with MIGRATE ... COPY, which
 * keeps values and TTLs exactly (a TTL goes on counting down from the moment of the copy).
 * The keys never leave the servers, so any key name works; the target's password reaches
 * redis-cli on standard input (`-x`), never in arguments.
 */
export async function copyRedisKeys(
  fromUrl: string,
  toUrl: string,
  into: ReadonlyMap<number, number>,
): Promise<number> {
  const from = parseRedisUrl(fromUrl);
  const to = parseRedisUrl(toUrl);
  const keyspace = await redisCli(from, ['INFO', 'keyspace']);
  let copied = 0;
  for (const m of keyspace.matchAll(/^db(\d+):keys=(\d+)/gm)) {
    const db = Number(m[1]);
    const dest = into.get(db);
    if (dest === undefined) continue;
    let cursor = '0';
    do {
      const args = [
        'EVAL',
        migrateScript,
        '0',
        cursor,
        String(dest),
        to.host,
        String(to.port),
        to.user ?? '',
      ];
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

/** ARGV: cursor, destination db, host, port, user, [password]. Returns the next cursor and how many keys moved. */
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
