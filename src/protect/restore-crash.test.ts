/**
 * A restore that replaces a live PostgreSQL database (`--to source --force --yes`), killed:
 * `lifeboat restore` runs as a child process and is SIGKILLed while pg_restore writes, and
 * (held by the test hook) after the proof, right before the swap. Afterwards the live
 * database is the old one, whole, with its properties; no process the restore started runs
 * on (found by a marker in their environment); the audit log has the restore `started`; and
 * the next restore removes the staged copy the killed one left, says so, and swaps in a whole
 * copy whose database properties (owner, encoding, collation, ACL, settings, comment) are the
 * backed-up ones.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, runCli } from '../cli/testing/run-cli.js';
import { processesWithEnv } from '../cli/testing/cli-process.js';
import { loadPlanFile } from '../plan/load.js';
import { startPostgres, type PostgresInstance } from '../stores/postgres/sandbox.js';
import { runToolOk } from '../system/tool.js';
import { createProtectContext } from './context.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Live processes whose environment carries `marker` (`NAME=value`): what one restore started. */
const marked = (marker: string) => processesWithEnv(...(marker.split('=') as [string, string]));

describe('a replacing PostgreSQL restore, killed', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-restore-crash-'));
  const plan = join(dir, 'lifeboat.yaml');
  let pg: PostgresInstance;
  const groups: number[] = [];

  const properties = async (database: string) =>
    pg.psql(
      `SELECT pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype,
              d.datacl::text, (SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0),
              (SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 'alice'::regrole),
              shobj_description(d.oid, 'pg_database')
         FROM pg_database d WHERE datname = '${database}'`,
    );
  const staged = async () =>
    (
      await pg.psql(
        "SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_lifeboat\\_restore\\_%' ORDER BY 1",
      )
    ).map((r) => r[0]);
  const accounts = async () => (await pg.psql('SELECT count(*) FROM pgbench_accounts', 'live'))[0]?.[0];
  const marker = async () => (await pg.psql('SELECT v FROM marker', 'live'))[0]?.[0];
  let backedUp: Awaited<ReturnType<typeof properties>>;

  /** `lifeboat restore db --to source --force --yes --json` in its own process group. */
  function startRestore(env: Record<string, string>) {
    const child = spawn(
      process.execPath,
      [BIN, 'restore', 'db', '--to', 'source', '--force', '--yes', '--json', '--plan', plan],
      { detached: true, stdio: 'ignore', env: { ...process.env, ...env } },
    );
    groups.push(child.pid!);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { pid: child.pid!, exited };
  }

  async function audit() {
    const context = createProtectContext(loadPlanFile(plan));
    return (await context.state()).listAudit({ action: 'restore.run' });
  }

  before(async () => {
    pg = await startPostgres({ fast: true });
    await pg.psql('CREATE ROLE alice LOGIN');
    await pg.psql(
      "CREATE DATABASE live OWNER alice ENCODING 'SQL_ASCII' LC_COLLATE 'POSIX' LC_CTYPE 'POSIX' TEMPLATE template0",
    );
    await pg.psqlScript(
      `REVOKE CONNECT, TEMPORARY ON DATABASE live FROM PUBLIC;
       ALTER DATABASE live SET search_path = app, public;
       ALTER ROLE alice IN DATABASE live SET work_mem = '8MB';
       COMMENT ON DATABASE live IS 'the live one';`,
    );
    await runToolOk('pgbench', [
      '-i',
      '-s',
      '8',
      '-q',
      '-h',
      pg.socketDir,
      '-p',
      String(pg.port),
      '-U',
      'postgres',
      'live',
    ]);
    await pg.psqlScript(`CREATE TABLE marker (v text); INSERT INTO marker VALUES ('backed up');`, 'live');
    backedUp = await properties('live');
    writeFileSync(
      plan,
      `version: 1
organization: Restore Crash Test
datasets:
  db:
    rpo: 1h
    source: { type: postgres, url: "${pg.urlFor('live')}", databases: [live] }
    backup: { every: 15m }
`,
    );
    const backup = await runCli(['backup', '--plan', plan], { timeoutMs: 300_000 });
    assert.equal(backup.code, 0, backup.stderr);
    // The live database moves on after the backup: a restore would bring 'backed up' back.
    await pg.psql("UPDATE marker SET v = 'live since'", 'live');
  });

  after(async () => {
    for (const pgid of groups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('killed (node alone, SIGKILL) while pg_restore writes: no orphan, the live database untouched, audited as started', async () => {
    const mark = `LIFEBOAT_TEST_MARK=${randomUUID()}`;
    const [name, value] = mark.split('=') as [string, string];
    const restore = startRestore({ [name]: value });
    await until(
      'pg_restore to write the staged copy',
      async () => marked(mark).some((p) => p.name === 'pg_restore') && (await staged()).length > 0,
    );
    await sleep(1000);
    const before = marked(mark).map((p) => p.name);
    // restic may have handed its last bytes over already; pg_restore is still writing.
    assert.ok(before.includes('pg_restore'), `pg_restore runs: ${before.join(', ')}`);
    // Only Lifeboat itself: its children must die with it, not because the group was killed.
    process.kill(restore.pid, 'SIGKILL');
    await restore.exited;
    // At once: left alone, restic and pg_restore would finish the copy in a few seconds.
    await until("the restore's processes to end", () => marked(mark).length === 0, 500);

    assert.equal(await marker(), 'live since', 'the live database is the old one');
    assert.equal(await accounts(), '800000');
    assert.deepEqual(await properties('live'), backedUp);
    assert.equal((await staged()).length, 1, 'the staged copy is left, under its own name');
    const [started] = await audit();
    assert.equal(started?.outcome, 'started');
    assert.match(JSON.stringify(started?.details), /the live source of dataset 'db'/);
  });

  test('killed (the whole group) after the proof, right before the swap: the live database untouched', async () => {
    const paused = join(dir, 'paused');
    const restore = startRestore({ LIFEBOAT_TEST_PAUSE_AT: `before-swap:${paused}` });
    await until('the restore to reach the swap', () => existsSync(paused));
    process.kill(-restore.pid, 'SIGKILL');
    await restore.exited;
    assert.equal(await marker(), 'live since');
    assert.equal(await accounts(), '800000');
    assert.ok((await staged()).length >= 1);
  });

  test('the next restore removes what the killed ones left, swaps in a whole copy with its properties, keeps the old one', async () => {
    const leftovers = await staged();
    // status names the killed restore whose copy is still there (the first one's was removed
    // by the second), until a restore into that target removes it.
    const interrupted = async () => {
      const status = await runCli(['status', 'db', '--json', '--plan', plan]);
      const body = JSON.parse(status.stdout) as {
        datasets: { interruptedRestores: { restoreId: string }[]; warnings: string[] }[];
      };
      return body.datasets[0]!;
    };
    const before = await interrupted();
    assert.equal(before.interruptedRestores.length, 1, JSON.stringify(before));
    assert.ok(
      leftovers.some((name) => String(name).endsWith(before.interruptedRestores[0]!.restoreId)),
      `${JSON.stringify(before)} names one of ${leftovers.join(', ')}`,
    );
    assert.match(before.warnings.join('\n'), /a restore into .* was killed .* ago/);
    const run = await runCli(
      ['restore', 'db', '--to', 'source', '--force', '--yes', '--json', '--plan', plan],
      {
        timeoutMs: 300_000,
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const { result } = JSON.parse(run.stdout) as {
      result: { ok: boolean; warnings: string[]; replaced: string[] };
    };
    assert.equal(result.ok, true);
    for (const name of leftovers)
      assert.match(
        result.warnings.join('\n'),
        new RegExp(`removed what an interrupted restore left: database "${name}"`),
      );
    assert.deepEqual(await staged(), []);
    assert.equal(await marker(), 'backed up');
    assert.equal(await accounts(), '800000');
    assert.deepEqual(
      await properties('live'),
      backedUp,
      'owner, encoding, collation, ACL, settings, comment',
    );
    const aside = /kept as "(live__lifeboat_replaced_[0-9a-f]{8})"/.exec(result.replaced.join())?.[1];
    assert.ok(aside, result.replaced.join());
    assert.deepEqual(await pg.psql('SELECT v FROM marker', aside), [['live since']]);
    const outcomes = (await audit()).map((a) => a.outcome);
    assert.deepEqual(outcomes.slice(0, 2), ['ok', 'started']);
    assert.deepEqual((await interrupted()).interruptedRestores, []);
  });

  test('into a new database: the properties come with it', async () => {
    const run = await runCli(['restore', 'db', '--to', pg.urlFor('copy'), '--json', '--plan', plan], {
      timeoutMs: 300_000,
    });
    assert.equal(run.code, 0, run.stderr);
    const copy = await properties('copy');
    assert.deepEqual(copy, backedUp);
    assert.match(copy[0]?.[4] ?? '', /^\{alice=CTc\/alice\}$/, 'PUBLIC has no CONNECT');
  });
});
