import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { livePostmasterPid, postmasterPid, processAlive } from './process.js';

describe('processes', () => {
  test('this process runs; an exited child does not', async () => {
    assert.equal(processAlive(process.pid), true);
    const child = spawn('true');
    await once(child, 'exit');
    assert.equal(processAlive(child.pid!), false);
  });

  test('a zombie (exited, not yet reaped) is not alive', { skip: process.platform !== 'linux' }, async () => {
    // sh execs into sleep with a child it never waits for: that child stays a zombie.
    const parent = spawn('sh', ['-c', 'true & exec sleep 5'], { stdio: ['ignore', 'ignore', 'ignore'] });
    try {
      await sleep(300);
      const zombie = Number(readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim());
      assert.ok(zombie > 0, 'the zombie child was found');
      assert.equal(processAlive(zombie), false);
      assert.equal(processAlive(parent.pid!), true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  test('postmasterPid reads the first line; livePostmasterPid also wants the data directory in the command line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-pid-'));
    try {
      assert.equal(postmasterPid(dir), undefined);
      writeFileSync(join(dir, 'postmaster.pid'), `${process.pid}\n${dir}\n`);
      assert.equal(postmasterPid(dir), process.pid);
      // This process does not run that data directory: a reused pid is no postmaster.
      assert.equal(livePostmasterPid(dir), undefined);
      writeFileSync(join(dir, '.s.PGSQL.5432.lock'), 'garbage\n');
      assert.equal(postmasterPid(dir, '.s.PGSQL.5432.lock'), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
