/**
 * docs/recover-without-lifeboat.md, tested: Lifeboat backs up throwaway PostgreSQL, MariaDB
 * and Redis servers, a directory and a command's output; then each is restored using only the
 * shell commands of the doc's `recipe=NAME` blocks (run by `sh -e -c`, the doc's variables set
 * in the environment) into fresh servers and directories, and the restored data must have the
 * same fingerprint as the source: row counts and checksums per table, key counts and digests
 * per Redis database, file hashes. The commands are read from the doc, so doc and test cannot
 * drift apart.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPlanFile } from '../plan/load.js';
import { planBackup, runBackup } from './backup.js';
import { createProtectContext } from './context.js';
import { freePort } from '../system/free-port.js';
import { signalProcess } from '../system/instance.js';
import {
  compareFingerprints,
  createSource,
  startMariadb,
  startPostgres,
  startRedis,
  type Fingerprint,
  type MariadbInstance,
  type PostgresInstance,
  type RedisInstance,
  type SourceConfig,
} from '../stores/index.js';
import {
  assertRestoredFingerprint,
  propertiesRestored,
} from '../stores/postgres/testing/restored-fingerprint.js';

const DOC = fileURLToPath(new URL('../../docs/recover-without-lifeboat.md', import.meta.url));

/** The doc's `recipe=NAME` blocks, joined per name in the order they appear. */
export function recipes(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of markdown.matchAll(/^```sh recipe=([\w-]+)\n([\s\S]*?)^```$/gm)) {
    const [, name = '', body = ''] = m;
    found.set(name, (found.get(name) ?? '') + body);
  }
  return found;
}

let dir: string;
let repository: { url: string; passwordFile: string };
let sourcePg: PostgresInstance;
let sourceMy: MariadbInstance;
let sourceRedis: RedisInstance;
let targetPg: PostgresInstance;
let targetMy: MariadbInstance;
const fingerprints = new Map<string, Fingerprint>();
const redisDir = () => join(dir, 'restored-redis');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-recover-'));
  sourcePg = await startPostgres({ fast: true });
  // The by-hand recovery replays the source's roles, its postgres password included: the target
  // starts with that password so that it is still reachable afterwards, as a rebuilt server would be.
  const sourcePassword = decodeURIComponent(new URL(sourcePg.url).password);
  [sourceMy, sourceRedis, targetPg, targetMy] = await Promise.all([
    startMariadb({ fast: true }),
    startRedis(),
    startPostgres({ fast: true, password: sourcePassword }),
    startMariadb({ fast: true }),
  ]);
  await fill();
  const plan = join(dir, 'lifeboat.yaml');
  writeFileSync(
    plan,
    `version: 1
organization: Recover Test
datasets:
  pg:
    rpo: 1h
    source: { type: postgres, url: "${sourcePg.urlFor('app')}", databases: [app] }
    backup: { every: 15m }
  my:
    rpo: 1h
    source: { type: mysql, url: "${sourceMy.url}", databases: [shop] }
    backup: { every: 15m }
  cache:
    rpo: 1h
    source: { type: redis, url: "${sourceRedis.url}" }
    backup: { every: 15m }
  docs:
    rpo: 1d
    source: { type: files, paths: [./docs] }
    backup: { every: 1h }
  export:
    rpo: 1d
    source:
      type: command
      command: tar -C ${join(dir, 'export')} -cf - .
      restore: mkdir -p "$LIFEBOAT_RESTORE_DIR" && tar -C "$LIFEBOAT_RESTORE_DIR" -xf -
      filename: export/data.tar
    backup: { every: 1h }
`,
  );
  const context = createProtectContext(loadPlanFile(plan));
  try {
    for (const id of ['pg', 'my', 'cache', 'docs']) {
      fingerprints.set(
        id,
        await createSource(context.resolvedSource(id), { dataset: id, baseDir: dir }).fingerprint(),
      );
    }
    const results = await runBackup(
      context,
      planBackup(context.plan, [], (id) => context.repositoryOf(id)),
    );
    for (const r of results) assert.ok(r.ok, `backup of ${r.dataset}: ${r.error}`);
    // Changed after the backup: the restores must bring back the backed-up state, not this one.
    await sourcePg.psql('INSERT INTO orders VALUES (999999, 1, 0)', 'app');
  } finally {
    await context.close();
  }
  repository = {
    url: join(dir, '.lifeboat', 'repository'),
    passwordFile: join(dir, '.lifeboat', 'repository.key'),
  };
});

after(async () => {
  try {
    signalProcess(Number(readFileSync(join(redisDir(), 'redis.pid'), 'utf8')), 'SIGTERM');
  } catch {
    // The redis recipe never started its server.
  }
  await Promise.allSettled([sourcePg, sourceMy, sourceRedis, targetPg, targetMy].map((i) => i?.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function fill(): Promise<void> {
  await sourcePg.psqlScript(
    `CREATE ROLE app_owner LOGIN;
     CREATE DATABASE app OWNER app_owner ENCODING 'SQL_ASCII' LC_COLLATE 'POSIX' LC_CTYPE 'POSIX' TEMPLATE template0;
     REVOKE CONNECT, TEMPORARY ON DATABASE app FROM PUBLIC;
     ALTER DATABASE app SET search_path = app, public;
     ALTER ROLE app_owner IN DATABASE app SET work_mem = '8MB';
     COMMENT ON DATABASE app IS 'the app''s database';`,
  );
  await sourcePg.psqlScript(
    `SET ROLE app_owner;
     CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, profile jsonb, avatar bytea);
     INSERT INTO customers SELECT g, 'customer ' || g, jsonb_build_object('n', g), decode(md5(g::text), 'hex') FROM generate_series(1, 3000) g;
     CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10,2));
     INSERT INTO orders SELECT g, 1 + g % 3000, g * 1.25 FROM generate_series(1, 8000) g;
     CREATE SEQUENCE invoice_numbers; SELECT setval('invoice_numbers', 42);`,
    'app',
  );
  await sourceMy.query(
    `CREATE DATABASE shop; USE shop;
     CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), price DECIMAL(8,2), data BLOB);
     INSERT INTO items SELECT seq, CONCAT('item ', seq), seq / 7, UNHEX(MD5(seq)) FROM seq_1_to_4000;
     CREATE VIEW cheap AS SELECT * FROM items WHERE price < 10;`,
  );
  // One server-side loop per type: thousands of keys without thousands of redis-cli runs.
  const loop = (n: number, body: string) => ['EVAL', `for i = 1, ${n} do ${body} end`, '0'];
  await sourceRedis.cli(loop(1500, "redis.call('SET', 'key:' .. i, 'value-' .. i)"), 0);
  await sourceRedis.cli(loop(200, "redis.call('HSET', 'hash:' .. i, 'a', i, 'b', i * 2)"), 1);
  await sourceRedis.cli(loop(100, "redis.call('RPUSH', 'list:' .. i, 'x', 'y', 'z')"), 1);
  mkdirSync(join(dir, 'docs', 'sub'), { recursive: true });
  for (let i = 0; i < 50; i++)
    writeFileSync(join(dir, 'docs', 'sub', `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
  writeFileSync(join(dir, 'docs', 'big.bin'), Buffer.alloc(1_500_000, 3));
  symlinkSync('big.bin', join(dir, 'docs', 'link'));
  mkdirSync(join(dir, 'export'));
  writeFileSync(join(dir, 'export', 'one.json'), '{"a":1}\n');
  writeFileSync(join(dir, 'export', 'two.txt'), 'two\n');
}

/** Runs the doc's `find-run` block and the named recipe with `sh -e -c`. */
async function runRecipe(name: string, dataset: string, variables: Record<string, string>): Promise<string> {
  const blocks = recipes(readFileSync(DOC, 'utf8'));
  const script = `${blocks.get('find-run') ?? ''}${blocks.get(name) ?? ''}`;
  assert.ok(blocks.get(name), `the doc has no recipe=${name} block`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8' };
  Object.assign(env, {
    RESTIC_REPOSITORY: repository.url,
    RESTIC_PASSWORD_FILE: repository.passwordFile,
    DATASET: dataset,
    ...variables,
  });
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-e', '-c', script], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`recipe ${name} exited ${code}:\n${out}`)),
    );
  });
}

/** What a database is besides its objects: owner, encoding, collation, ACL, settings, comment. */
function databaseProperties(pg: PostgresInstance, database: string) {
  return pg.psql(
    `SELECT pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, d.datacl::text,
            (SELECT string_agg(coalesce(r.rolname, '*') || ':' || array_to_string(s.setconfig, ','), ';' ORDER BY r.rolname)
               FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = d.oid),
            shobj_description(d.oid, 'pg_database')
       FROM pg_database d WHERE d.datname = '${database}'`,
  );
}

describe('docs/recover-without-lifeboat.md', { timeout: 120_000 }, () => {
  test('every recipe block is one the test runs', () => {
    const names = [...recipes(readFileSync(DOC, 'utf8')).keys()].sort();
    assert.deepEqual(names, ['command', 'files', 'find-run', 'mysql', 'postgres', 'postgres-check', 'redis']);
  });

  test('PostgreSQL: globals, then the database, with psql and pg_restore', async () => {
    // Through the sandbox's private socket, where it trusts its own OS user (TCP needs its password).
    const pgEnv = { PGHOST: targetPg.socketDir, PGPORT: String(targetPg.port), PGUSER: 'postgres' };
    const out = await runRecipe('postgres', 'pg', { ...pgEnv, DB: 'app', NEWDB: 'app_restored' });
    assert.match(out, /restoring run \d{8}T\d{6}Z-/);
    const restoredSource = measurer({ type: 'postgres', url: targetPg.url });
    const restored = await restoredSource.fingerprintOf({
      kind: 'server',
      url: targetPg.url,
      databases: { app: 'app_restored' },
    });
    assertRestoredFingerprint(fingerprints.get('pg')!, restored);
    assert.ok(Object.keys(restored.items).some((k) => k.includes('public.orders')));
    // The doc's hand check compares the manifest's fingerprint with the restored database's.
    const checked = await runRecipe('postgres-check', 'pg', {
      ...pgEnv,
      DB: 'app',
      NEWDB: 'app_restored',
      LIFEBOAT_DOCS: dirname(DOC),
    }).catch((error: Error) => error.message);
    if (propertiesRestored(fingerprints.get('pg')!, restored)) {
      assert.match(checked, /the restored database matches the backup's fingerprint/);
    } else {
      // The recipe's createdb does not give the database its owner back: diff says so, and only that.
      const diff = checked.split('\n').filter((line) => /^[<>] /.test(line));
      assert.ok(
        diff.some((line) => line.startsWith('< database|owner|app_owner')),
        checked,
      );
      assert.deepEqual(
        diff.filter((line) => !/^[<>] database\|/.test(line)),
        [],
      );
    }
    assert.match(
      readFileSync(join(dir, 'fingerprint-backup.txt'), 'utf8'),
      /^public\.orders\|\d+\|-?\d+$/m,
      'the recipe compares the tables too',
    );
    const [owner] = await targetPg.psql(
      "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'",
      'app_restored',
    );
    assert.deepEqual(owner, ['app_owner'], 'the role came back with the globals, and owns its tables');
    assert.deepEqual(
      await databaseProperties(targetPg, 'app_restored'),
      await databaseProperties(sourcePg, 'app'),
      'owner, encoding, collation, ACL, settings and comment of the database',
    );
  });

  test('MariaDB: the SQL dump into a new database, with the mariadb client', async () => {
    await runRecipe('mysql', 'my', {
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(targetMy.port),
      MYSQL_USER: 'root',
      // The mariadb client reads it from the environment, as the recovery doc says.
      MYSQL_PWD: decodeURIComponent(new URL(targetMy.url).password),
      DB: 'shop',
      NEWDB: 'shop_restored',
    });
    const restoredSource = measurer({ type: 'mysql', url: targetMy.url });
    const restored = await restoredSource.fingerprintOf({
      kind: 'server',
      url: targetMy.url,
      databases: { shop: 'shop_restored' },
    });
    assert.deepEqual(compareFingerprints(fingerprints.get('my')!, restored), {
      equal: true,
      differences: [],
    });
    assert.equal(restored.items['shop/table/items']?.rows, 4000);
  });

  test('Redis: the RDB into a new server directory, loaded by redis-server', async () => {
    const port = await freePort();
    await runRecipe('redis', 'cache', { REDIS_DIR: redisDir(), REDIS_PORT: String(port) });
    const url = `redis://127.0.0.1:${port}/`;
    const restored = await measurer({ type: 'redis', url }).fingerprintOf({ kind: 'server', url });
    assert.deepEqual(compareFingerprints(fingerprints.get('cache')!, restored), {
      equal: true,
      differences: [],
    });
    assert.equal(restored.items.db0?.keys, 1500);
    assert.equal(restored.items.db1?.keys, 300);
  });

  test('files: restic restore into a target directory, every file hash equal', async () => {
    const target = join(dir, 'restored-files');
    await runRecipe('files', 'docs', { TARGET: target });
    const restoredSource = measurer({ type: 'files', paths: ['./docs'] });
    const restored = await restoredSource.fingerprintOf({ kind: 'directory', path: target });
    assert.deepEqual(compareFingerprints(fingerprints.get('docs')!, restored), {
      equal: true,
      differences: [],
    });
  });

  test('command: the stored output piped into the restore command', async () => {
    const target = join(dir, 'restored-export');
    await runRecipe('command', 'export', {
      FILENAME: 'export/data.tar',
      RESTORE_COMMAND: 'mkdir -p "$LIFEBOAT_RESTORE_DIR" && tar -C "$LIFEBOAT_RESTORE_DIR" -xf -',
      LIFEBOAT_RESTORE_DIR: target,
    });
    for (const file of ['one.json', 'two.txt']) {
      assert.equal(sha256(join(target, file)), sha256(join(dir, 'export', file)), file);
    }
  });
});

/** The source type's measurement, used here on the restored copies. */
function measurer(config: SourceConfig) {
  return createSource(config, { dataset: 'restored', baseDir: dir });
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
