/**
 * The records of throwaway servers: what counts as left behind (a dead owner, or a pid the
 * kernel gave to another process since), how it is reaped, and which directories are trusted.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findLeftoverInstances, reapLeftoverInstances, recordInstance } from './instance-records.js';
import { ensurePrivateDir, runtimeDir } from './private-dir.js';
import { processAlive, processStartTime } from './process.js';

const root = mkdtempSync(join(tmpdir(), 'lifeboat-records-test-'));
const saved = process.env.XDG_RUNTIME_DIR;

before(() => {
  process.env.XDG_RUNTIME_DIR = root;
});
after(() => {
  if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = saved;
  rmSync(root, { recursive: true, force: true });
});

/** A pid that ran and is gone. */
function deadPid(): number {
  return spawnSync('true').pid;
}

function writeRecord(name: string, fields: Record<string, unknown>): string {
  const dir = ensurePrivateDir(runtimeDir());
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ stopSignal: 'SIGTERM', dataDir: '/nonexistent', ...fields }), {
    mode: 0o600,
  });
  return file;
}

describe('throwaway-instance records', () => {
  test('a record is 0600 in a 0700 directory, and goes with its instance', () => {
    const handle = recordInstance({
      kind: 'redis',
      tempDir: join(root, 'lifeboat-x'),
      dataDir: '/x',
      stopSignal: 'SIGKILL',
    });
    assert.equal((statSync(handle.file).mode & 0o777).toString(8), '600');
    assert.equal((statSync(runtimeDir()).mode & 0o777).toString(8), '700');
    assert.deepEqual(findLeftoverInstances(), [], 'its owner (this process) runs');
    handle.remove();
    assert.equal(existsSync(handle.file), false);
  });

  test('a dead owner: its server is stopped, its temp dir and record removed', async () => {
    const tempDir = mkdtempSync(join(root, 'lifeboat-pg-'));
    writeFileSync(join(tempDir, 'restored-data'), 'rows');
    const server = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
    server.unref();
    const file = writeRecord('dead-owner', {
      kind: 'postgres',
      ownerPid: deadPid(),
      serverPid: server.pid,
      serverStart: processStartTime(server.pid!),
      port: 5999,
      tempDir,
    });
    const reaped = await reapLeftoverInstances();
    assert.equal(reaped.length, 1);
    assert.equal(reaped[0]!.serverPid, server.pid);
    assert.equal(reaped[0]!.stillRunning, false);
    assert.equal(processAlive(server.pid!), false, 'the server is gone');
    assert.equal(existsSync(tempDir), false, 'its data is gone');
    assert.equal(existsSync(file), false, 'its record is gone');
  });

  test('an owner pid that now names another process counts as dead; a server pid likewise is left alone', async () => {
    const tempDir = mkdtempSync(join(root, 'lifeboat-redis-'));
    writeRecord('reused-pid', {
      kind: 'redis',
      ownerPid: process.pid,
      ownerStart: (processStartTime(process.pid) ?? 0) - 1,
      // This very process, recorded as the server with another start time: never signalled.
      serverPid: process.pid,
      serverStart: (processStartTime(process.pid) ?? 0) - 1,
      tempDir,
    });
    const reaped = await reapLeftoverInstances();
    assert.equal(reaped.length, 1);
    assert.equal(reaped[0]!.serverPid, undefined, 'no process of that start time runs');
    assert.equal(existsSync(tempDir), false);
  });

  test(
    'a directory of another user, or one others may write into, is refused',
    { skip: process.getuid?.() !== 0 && 'needs root to chown' },
    () => {
      const foreign = join(root, 'foreign');
      mkdirSync(foreign, { mode: 0o700 });
      chownSync(foreign, 65534, 65534);
      assert.throws(() => ensurePrivateDir(foreign), /belongs to another user/);
      const open = join(root, 'open');
      mkdirSync(open);
      chmodSync(open, 0o777);
      assert.throws(() => ensurePrivateDir(open), /writable by other users/);
    },
  );
});
