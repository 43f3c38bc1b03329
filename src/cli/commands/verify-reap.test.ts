/**
 * A `lifeboat verify` SIGKILLed while its throwaway PostgreSQL runs (with the restored data
 * in it): the kernel stops that server with its owner where it can (crash-matrix.test.ts);
 * where it cannot (no setpriv, emulated here with LIFEBOAT_NO_PDEATHSIG=1) the server is
 * left behind, and the next `doctor` or `verify` must find it, stop it, remove its data and
 * say so. Either way the temp dir is left for the next command to remove.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startPostgres, type PostgresInstance } from '../../stores/postgres/sandbox.js';
import { processAlive } from '../../system/process.js';
import { BIN, runCli } from '../testing/run-cli.js';

let dir: string;
let pg: PostgresInstance;
const plan = () => join(dir, 'lifeboat.yaml');
const records = () => join(dir, '.lifeboat', 'instances');
const lifeboat = (...args: string[]) => runCli([...args, '--plan', plan()], { cwd: dir, timeoutMs: 120_000 });
const groups: number[] = [];

interface Left {
  postmaster: number;
  tempDir: string;
}

/**
 * Starts `lifeboat verify` in its own process group, paused once its PostgreSQL runs, and
 * SIGKILLs the whole group there, as a crash would. Returns what it left behind.
 */
async function killedVerify(): Promise<Left> {
  const child = spawn(process.execPath, [BIN, 'verify', '--plan', plan()], {
    cwd: dir,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, LIFEBOAT_TEST_PAUSE: 'postgres-started', LIFEBOAT_NO_PDEATHSIG: '1' },
  });
  groups.push(child.pid!);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let left: Left | undefined;
  for (let i = 0; i < 1200 && !left; i++) {
    await sleep(50);
    for (const name of existsSync(records()) ? readdirSync(records()) : []) {
      if (!name.endsWith('.json')) continue;
      const record = JSON.parse(readFileSync(join(records(), name), 'utf8')) as {
        ownerPid: number;
        serverPid?: number;
        tempDir: string;
        port?: number;
      };
      if (record.ownerPid === child.pid && record.serverPid !== undefined && record.port !== undefined) {
        const conf = readFileSync(join(record.tempDir, 'pg_hba.conf'), 'utf8');
        assert.match(conf, /host\s+all\s+all\s+127\.0\.0\.1\/32\s+scram-sha-256/);
        left = { postmaster: record.serverPid, tempDir: record.tempDir };
      }
    }
  }
  assert.ok(left, 'verify started its PostgreSQL');
  assert.equal((statSync(records()).mode & 0o777).toString(8), '700');
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  await sleep(200);
  assert.equal(processAlive(left.postmaster), true, 'the killed verify left its PostgreSQL running');
  assert.equal(existsSync(join(left.tempDir, 'data')), true, 'with its data');
  return left;
}

describe('a killed verify leaves no throwaway server behind for long', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-verify-reap-'));
    pg = await startPostgres({ fast: true });
    await pg.psql('CREATE DATABASE app');
    await pg.psqlScript(
      "CREATE TABLE users (name text, hash text); INSERT INTO users VALUES ('ann', 'secret-hash');",
      'app',
    );
    writeFileSync(
      plan(),
      `version: 1
organization: Reap Test
document: { next_review: 2099-01-01 }
datasets:
  db:
    rpo: 1h
    source: { type: postgres, url: "${pg.urlFor('app')}", databases: [app] }
    backup: { every: 15m }
`,
      { mode: 0o600 },
    );
    const backup = await lifeboat('backup');
    assert.equal(backup.code, 0, backup.stderr);
  });

  after(async () => {
    for (const pgid of groups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('doctor reports and reaps it', async () => {
    const left = await killedVerify();
    const doctor = await lifeboat('doctor');
    assert.match(
      doctor.stdout,
      /throwaway servers\s+reaped a throwaway postgres on port \d+ left by Lifeboat process \d+, which is gone/,
    );
    for (let i = 0; i < 100 && processAlive(left.postmaster); i++) await sleep(50);
    assert.equal(processAlive(left.postmaster), false, 'its postmaster is gone');
    assert.equal(existsSync(left.tempDir), false, 'its temp dir and data are gone');
    assert.deepEqual(
      (existsSync(records()) ? readdirSync(records()) : []).filter((n) => n.endsWith('.json')),
      [],
      'its record is gone',
    );
  });

  test('the next verify reaps it, says so on stderr, and verifies', async () => {
    const left = await killedVerify();
    const verify = await lifeboat('verify', '--json');
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(
      verify.stderr,
      /reaped a throwaway postgres .* stopped its server \(pid \d+\) and removed .* with its data/,
    );
    assert.equal(processAlive(left.postmaster), false, 'its postmaster is gone');
    assert.equal(existsSync(left.tempDir), false, 'its temp dir and data are gone');
    const password = decodeURIComponent(new URL(pg.url).password);
    assert.equal(
      verify.stdout.includes(password) || verify.stderr.includes(password),
      false,
      'no password printed',
    );
  });
});
