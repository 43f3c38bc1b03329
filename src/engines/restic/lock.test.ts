import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError } from '../../errors.js';
import { acquireLock, enqueue, isStale, lockPath, withLock, type LockHolder } from './lock.js';
import { processStartTime } from '../../system/process.js';

describe('repository lock', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-lock-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const holderFile = (key: string, holder: Partial<LockHolder>) =>
    writeFile(
      lockPath(dir, key),
      JSON.stringify({ hostname: hostname(), key, token: 'other', acquiredAt: 'then', ...holder }),
    );

  test('a live holder in another process makes us wait, then give up with its pid', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await holderFile('busy', { pid: sleeper.pid!, processStart: processStartTime(sleeper.pid!) });
      await assert.rejects(
        acquireLock('busy', { dir, waitMs: 300, pollMs: 50 }),
        (error: unknown) =>
          error instanceof EnvironmentError &&
          error.message.includes(`pid ${sleeper.pid}`) &&
          /busy/.test(error.message),
      );
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('close', r));
    }
    // Its process is gone now: the lock is stale and is broken.
    const lock = await acquireLock('busy', { dir, waitMs: 300, pollMs: 50 });
    assert.equal(lock.brokeStale, true);
    const content = JSON.parse(await readFile(lock.path, 'utf8')) as LockHolder;
    assert.equal(content.pid, process.pid);
    await lock.release();
    assert.equal(existsSync(lock.path), false);
  });

  test('staleness: dead pid, reused pid, other host', () => {
    const me = { hostname: hostname(), key: 'k', token: 't', acquiredAt: 'now' };
    assert.equal(isStale({ ...me, pid: process.pid, processStart: processStartTime(process.pid) }), false);
    assert.equal(isStale({ ...me, pid: process.pid, processStart: 'not-its-start-time' }), true);
    assert.equal(isStale({ ...me, pid: 2 ** 22 + 12345 }), true);
    assert.equal(isStale({ ...me, hostname: 'elsewhere', pid: 2 ** 22 + 12345 }), false);
  });

  test('release leaves alone a lock file that is no longer ours', async () => {
    const lock = await acquireLock('replaced', { dir });
    await holderFile('replaced', { pid: process.pid });
    await lock.release();
    assert.equal(existsSync(lock.path), true);
    await rm(lock.path);
  });

  test('the in-process queue runs calls with one key one after another', async () => {
    const events: string[] = [];
    const task = (name: string, ms: number) => async () => {
      events.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`${name}-`);
      if (name === 'b') throw new Error('b fails');
      return name;
    };
    const results = await Promise.allSettled([
      enqueue('q', task('a', 30)),
      enqueue('q', task('b', 10)),
      enqueue('q', task('c', 1)),
      enqueue('other', task('x', 1)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.deepEqual(
      events.filter((e) => e !== 'x+' && e !== 'x-'),
      ['a+', 'a-', 'b+', 'b-', 'c+', 'c-'],
    );
    assert.ok(events.indexOf('x-') < events.indexOf('a-'), 'another key does not wait');
  });

  test('withLock holds the file while the work runs and releases it after a failure', async () => {
    const path = lockPath(dir, 'work');
    await assert.rejects(
      withLock('work', { dir }, async () => {
        assert.equal(existsSync(path), true);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(existsSync(path), false);
  });
});
