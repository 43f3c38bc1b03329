/**
 * A restore that replaces a live MariaDB database (`--to source --force --yes`), run as a
 * user runs it: the CLI in a child process, against a throwaway server. Killed while the
 * dump loads, or held right before the swap and killed, it leaves the live database whole
 * and unchanged (tables, views, triggers, routines, events) and only a staged copy under a
 * name of its own; the next restore removes those, says so, and swaps in the backed-up
 * database with its objects, keeping the old one aside, whole. A restore whose check fails
 * replaces nothing and leaves no staged copy.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { groupMembers, killGroup, spawnCli, type CliProcess } from '../cli/testing/cli-process.js';
import { runCli } from '../cli/testing/run-cli.js';
import { startMariadb, type MariadbInstance } from '../stores/mysql/sandbox.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ROWS = 300_000;

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface RestoreOutput {
  result: { ok: boolean; warnings: string[]; replaced?: string[] };
}

describe('a replacing MariaDB restore, killed or failed', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-restore-mysql-crash-'));
  const plan = join(dir, 'lifeboat.yaml');
  let maria: MariadbInstance;
  const children: CliProcess[] = [];

  const q = (sql: string, database?: string) => maria.query(sql, database);
  const one = async (sql: string, database?: string) => (await q(sql, database))[0]?.[0];
  const databases = async (mark: string) =>
    (
      await q(
        `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%${mark.replace(/_/g, '\\_')}%' ORDER BY 1`,
      )
    ).map((r) => r[0]!);
  const staged = () => databases('__lifeboat_restore_');
  /** Every object of a database by kind and name, and the state of its events. */
  const objects = async (db: string) =>
    (
      await q(`SELECT CONCAT(TABLE_TYPE, ' ', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${db}'
               UNION ALL SELECT CONCAT('TRIGGER ', TRIGGER_NAME, ' ON ', EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${db}'
               UNION ALL SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${db}'
               UNION ALL SELECT CONCAT('EVENT ', EVENT_NAME, ' ', STATUS) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '${db}'
               ORDER BY 1`)
    ).map((r) => r[0]!);
  const marker = (db = 'live') => one('SELECT v FROM marker', db);
  const orders = (db = 'live') => one('SELECT COUNT(*) FROM orders', db);

  function startRestore(env: Record<string, string> = {}): CliProcess {
    const child = spawnCli(
      ['restore', 'db', '--to', 'source', '--force', '--yes', '--json', '--plan', plan],
      {
        ...process.env,
        ...env,
      },
    );
    children.push(child);
    return child;
  }

  let backedUpObjects: string[];
  let liveObjects: string[];

  before(async () => {
    maria = await startMariadb({ fast: true });
    await q(`CREATE DATABASE live CHARACTER SET latin1 COLLATE latin1_german1_ci;
      USE live;
      CREATE TABLE orders (id INT PRIMARY KEY, total INT, filler VARCHAR(64));
      INSERT INTO orders SELECT seq, seq % 1000, MD5(seq) FROM seq_1_to_${ROWS};
      CREATE TABLE items (id INT PRIMARY KEY, o INT, FOREIGN KEY (o) REFERENCES orders(id));
      INSERT INTO items VALUES (1, 1), (2, 2);
      CREATE TABLE marker (v VARCHAR(40));
      INSERT INTO marker VALUES ('backed up');
      CREATE SEQUENCE ticket;
      CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 990;
      CREATE VIEW a_top AS SELECT MAX(total) AS top FROM big_orders;
      CREATE TRIGGER orders_abs BEFORE INSERT ON orders FOR EACH ROW SET NEW.total = ABS(NEW.total);
      CREATE FUNCTION doubled(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
      CREATE PROCEDURE count_orders() SELECT COUNT(*) FROM orders;
      CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM orders WHERE id < 0;
      CREATE DATABASE side;
      CREATE TABLE side.marker (v VARCHAR(40));
      INSERT INTO side.marker VALUES ('backed up');`);
    backedUpObjects = await objects('live');
    writeFileSync(
      plan,
      `version: 1
organization: MariaDB Restore Crash Test
datasets:
  db:
    rpo: 1h
    source: { type: mysql, url: "${maria.url}", databases: [live] }
    backup: { every: 15m }
    verify: { checks: [ { sql: "select doubled(count(*)) from items", expect: { equals: 4 } } ] }
  side:
    rpo: 1h
    source: { type: mysql, url: "${maria.url}", databases: [side] }
    backup: { every: 15m }
    verify: { checks: [ { sql: "select count(*) from marker", expect: { equals: 99 } } ] }
`,
    );
    const backup = await runCli(['backup', '--plan', plan], { timeoutMs: 300_000 });
    assert.equal(backup.code, 0, backup.stderr);
    // The live database moves on after the backup: a restore would bring 'backed up' back,
    // and drop what was created since.
    await q(
      `UPDATE marker SET v = 'live since';
      CREATE VIEW only_live AS SELECT v FROM marker;
      CREATE TRIGGER marker_upper BEFORE INSERT ON marker FOR EACH ROW SET NEW.v = UPPER(NEW.v);
      DROP PROCEDURE count_orders;`,
      'live',
    );
    await q("UPDATE marker SET v = 'live since'", 'side');
    liveObjects = await objects('live');
  });

  after(async () => {
    for (const child of children) await killGroup(child).catch(() => undefined);
    await maria?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The live database exactly as it was after the backup: data and every object. */
  async function assertLiveUntouched() {
    assert.equal(await marker(), 'live since', 'the live database is the old one');
    assert.equal(await orders(), String(ROWS));
    assert.deepEqual(await objects('live'), liveObjects);
    assert.deepEqual(await databases('__lifeboat_replaced_'), [], 'nothing was moved aside');
  }

  test('killed (the whole group, SIGKILL) while the dump loads: the live database whole, only a staged copy left', async () => {
    const restore = startRestore();
    await until(
      'the client to load the staged copy',
      async () => groupMembers(restore.pid).some((p) => p.name === 'mariadb') && (await staged()).length > 0,
    );
    const [copy] = await staged();
    await killGroup(restore);
    // Events come last in the dump: the copy was killed half loaded.
    assert.ok(!(await objects(copy!)).includes('EVENT nightly ENABLED'), 'killed before the load ended');
    await assertLiveUntouched();
    assert.deepEqual(await staged(), [copy], 'the partial copy is left under its own name');
  });

  test('held after the proof, right before the swap, and killed: the live database whole', async () => {
    const earlier = await staged();
    const paused = join(dir, 'paused');
    const restore = startRestore({ LIFEBOAT_TEST_PAUSE_AT: `before-swap:${paused}` });
    await until('the restore to reach the swap', () => existsSync(paused), 300_000);
    await killGroup(restore);
    await assertLiveUntouched();
    // Its own copy, whole and proven; the one the killed load left was removed as it started.
    const now = await staged();
    assert.equal(now.length, 1);
    assert.notDeepEqual(now, earlier);
    assert.ok(
      (await objects(now[0]!)).includes('EVENT nightly DISABLED'),
      'its events do not run on the copy being proven',
    );
  });

  test('the next restore removes the leftovers, swaps in the backup with its objects, keeps the old database aside whole', async () => {
    const leftovers = await staged();
    const run = await runCli(
      ['restore', 'db', '--to', 'source', '--force', '--yes', '--json', '--plan', plan],
      {
        timeoutMs: 300_000,
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const { result } = JSON.parse(run.stdout) as RestoreOutput;
    assert.equal(result.ok, true);
    for (const name of leftovers)
      assert.match(
        result.warnings.join('\n'),
        new RegExp(`removed what an interrupted restore left: database \`${name}\``),
      );
    assert.deepEqual(await staged(), []);

    assert.equal(await marker(), 'backed up');
    assert.equal(await orders(), String(ROWS));
    assert.deepEqual(
      await objects('live'),
      backedUpObjects,
      'the backed-up tables, views, triggers, routines, events',
    );
    // The objects work on the restored tables, under the live name.
    assert.equal(await one('SELECT top FROM a_top', 'live'), '999');
    assert.equal(await one('SELECT doubled(21)', 'live'), '42');
    await q(`INSERT INTO orders VALUES (-5, -7, 'x')`, 'live');
    assert.equal(await one('SELECT total FROM orders WHERE id = -5', 'live'), '7', 'the trigger fires');
    assert.equal(
      await one(
        "SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'live'",
      ),
      'latin1 latin1_german1_ci',
    );

    const [line] = result.replaced ?? [];
    const aside = /kept as `(live__lifeboat_replaced_[0-9a-f]{8})`/.exec(line ?? '')?.[1];
    assert.ok(aside, JSON.stringify(result.replaced));
    assert.match(line!, new RegExp(`DROP DATABASE \`${aside}\`;`));
    assert.equal(await marker(aside), 'live since');
    assert.equal(await orders(aside), String(ROWS));
    assert.deepEqual(
      await objects(aside),
      liveObjects.map((o) => o.replace('EVENT nightly ENABLED', 'EVENT nightly DISABLED')),
      'the old database whole, its event disabled',
    );
    assert.deepEqual(await q('SELECT v FROM only_live', aside), [['live since']]);
    await q("INSERT INTO marker VALUES ('kept')", aside);
    assert.equal(await one("SELECT COUNT(*) FROM marker WHERE v = 'KEPT'", aside), '1', 'its trigger fires');
  });

  test('a restore whose check fails replaces nothing and leaves no staged copy', async () => {
    const run = await runCli(
      ['restore', 'side', '--to', 'source', '--force', '--yes', '--json', '--plan', plan],
      {
        timeoutMs: 300_000,
      },
    );
    assert.notEqual(run.code, 0, run.stdout);
    assert.deepEqual(await q('SELECT v FROM marker', 'side'), [['live since']]);
    assert.deepEqual(await staged(), []);
    assert.deepEqual(await databases('side__lifeboat_replaced_'), []);
  });
});
