/**
 * Filling the demo's data stores with data worth protecting: pgbench's tables plus a table
 * of text, jsonb and bytea in PostgreSQL; customers and orders in MariaDB; keys of every
 * common type in two Redis databases; small files and two binaries. The amounts are in
 * DEMO_DATA so that the plan's verify checks and the tests expect exactly what was written.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mysqlRows, parseMysqlUrl } from '../stores/mysql/client.js';
import { parsePgUrl, psqlScript } from '../stores/postgres/psql.js';
import { parseRedisUrl } from '../stores/redis/client.js';
import { runTool, runToolOk } from '../system/tool.js';

export const DEMO_DATA = {
  postgres: {
    database: 'app',
    /** pgbench scale: 100,000 accounts per unit. */
    scale: 5,
    accounts: 500_000,
    documents: 5_000,
  },
  mariadb: { database: 'shop', customers: 2_000, orders: 5_000 },
  redis: {
    /** Database 0: strings, hashes, lists, sets, sorted sets. */
    db0: { strings: 2_000, hashes: 500, lists: 100, sets: 100, zsets: 50 },
    /** Database 1: sessions (strings) and carts (hashes). */
    db1: { strings: 1_000, hashes: 200 },
  },
  files: { small: 300, directories: 10, binaries: [3 * 1024 * 1024, 2 * 1024 * 1024] },
} as const;

/** `url`: the server's maintenance database (`.../postgres`). */
export async function fillPostgres(url: string): Promise<void> {
  const { database, scale, documents } = DEMO_DATA.postgres;
  const server = parsePgUrl(url);
  await psqlScript(server, `CREATE DATABASE ${database};`);
  await runToolOk(
    'pgbench',
    [
      '-i',
      '-s',
      String(scale),
      '-q',
      '-h',
      server.host,
      '-p',
      String(server.port),
      '-U',
      server.user ?? 'postgres',
      database,
    ],
    { env: server.env },
  );
  await psqlScript(
    server.withDatabase(database),
    `CREATE TABLE documents (
       id integer PRIMARY KEY,
       title text NOT NULL,
       body jsonb NOT NULL,
       attachment bytea NOT NULL,
       created_at timestamptz NOT NULL
     );
     INSERT INTO documents
     SELECT g,
            'Document ' || g || ' – ünïcödé',
            jsonb_build_object('id', g, 'tags', jsonb_build_array('demo', 'tag' || g % 7), 'score', g * 0.5),
            decode(repeat(md5(g::text), 4), 'hex'),
            timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'
     FROM generate_series(1, ${documents}) g;
     CREATE INDEX documents_tags ON documents USING gin ((body -> 'tags'));`,
  );
}

export async function fillMariadb(url: string): Promise<void> {
  const { database, customers, orders } = DEMO_DATA.mariadb;
  const conn = parseMysqlUrl(url);
  // seq_1_to_N is MariaDB's built-in SEQUENCE engine: rows without a loop.
  await mysqlRows(
    conn,
    `CREATE DATABASE ${database};
     USE ${database};
     CREATE TABLE customers (
       id INT PRIMARY KEY,
       name VARCHAR(100) NOT NULL,
       email VARCHAR(200) NOT NULL,
       created DATETIME NOT NULL
     ) CHARSET utf8mb4;
     INSERT INTO customers SELECT seq, CONCAT('Customer ', seq), CONCAT('customer', seq, '@example.test'),
       '2026-01-01' + INTERVAL seq MINUTE FROM seq_1_to_${customers};
     CREATE TABLE orders (
       id INT PRIMARY KEY,
       customer_id INT NOT NULL,
       total DECIMAL(10,2) NOT NULL,
       note TEXT,
       FOREIGN KEY (customer_id) REFERENCES customers (id)
     ) CHARSET utf8mb4;
     INSERT INTO orders SELECT seq, 1 + seq % ${customers}, ROUND(seq * 1.37 % 500, 2), MD5(seq) FROM seq_1_to_${orders};`,
  );
}

export async function fillRedis(url: string): Promise<void> {
  const conn = parseRedisUrl(url);
  const { db0, db1 } = DEMO_DATA.redis;
  const commands: string[][] = [['SELECT', '0']];
  for (let i = 0; i < db0.strings; i++) commands.push(['SET', `user:${i}:name`, `User ${i}`]);
  for (let i = 0; i < db0.hashes; i++)
    commands.push([
      'HSET',
      `user:${i}`,
      'name',
      `User ${i}`,
      'email',
      `user${i}@example.test`,
      'visits',
      String(i * 3),
    ]);
  for (let i = 0; i < db0.lists; i++)
    commands.push(['RPUSH', `queue:${i}`, ...Array.from({ length: 10 }, (_, j) => `job-${i}-${j}`)]);
  for (let i = 0; i < db0.sets; i++) commands.push(['SADD', `tags:${i}`, 'demo', `t${i % 5}`, `t${i % 11}`]);
  for (let i = 0; i < db0.zsets; i++)
    commands.push([
      'ZADD',
      `leaderboard:${i}`,
      ...Array.from({ length: 20 }, (_, j) => [String(j * 7), `player${j}`]).flat(),
    ]);
  commands.push(['SELECT', '1']);
  for (let i = 0; i < db1.strings; i++)
    commands.push(['SET', `session:${i}`, randomBytes(16).toString('hex')]);
  for (let i = 0; i < db1.hashes; i++)
    commands.push(['HSET', `cart:${i}`, 'items', String(i % 9), 'total', `${i}.99`]);
  // --pipe sends the commands as one stream of the Redis protocol: thousands of keys in well under a second.
  const result = await runTool('redis-cli', [...conn.args, '--pipe'], {
    env: conn.env,
    stdin: resp(commands),
  });
  if (result.code !== 0 || !/errors: 0/.test(result.stdout)) {
    throw new Error(
      `filling Redis at ${conn.host}:${conn.port} failed: ${result.stdout} ${result.stderr}`.trim(),
    );
  }
}

/** Commands in the Redis protocol (RESP arrays of bulk strings). */
function resp(commands: string[][]): Buffer {
  const parts: string[] = [];
  for (const command of commands) {
    parts.push(`*${command.length}\r\n`);
    for (const arg of command) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

export function fillFiles(dir: string): void {
  const { small, directories, binaries } = DEMO_DATA.files;
  for (let d = 0; d < directories; d++) mkdirSync(join(dir, `folder-${d}`), { recursive: true });
  for (let i = 0; i < small; i++) {
    const folder = join(dir, `folder-${i % directories}`);
    if (i % 3 === 0)
      writeFileSync(
        join(folder, `note-${i}.md`),
        `# Note ${i}\n\n${'Lorem ipsum dolor sit amet. '.repeat(1 + (i % 20))}\n`,
      );
    else
      writeFileSync(
        join(folder, `record-${i}.json`),
        JSON.stringify({ id: i, name: `record ${i}`, values: [i, i * 2, i * 3] }) + '\n',
      );
  }
  binaries.forEach((bytes, i) => writeFileSync(join(dir, `blob-${i}.bin`), randomBytes(bytes)));
}
