/** doctor's check of throwaway servers: one that answers without credentials fails it. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startRedis } from '../stores/redis/sandbox.js';
import { freePort, portIsClosed } from '../system/free-port.js';
import { killAndWait, recordInstance, stopAll } from '../system/instance.js';
import { pollUntil } from '../system/poll.js';
import { checkSandboxes } from './sandboxes.js';

after(() => stopAll());

describe('doctor: throwaway servers', () => {
  test('a recorded server that answers without a password fails the check; Lifeboat’s own pass', async () => {
    const redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-open-redis-'));
    const port = await freePort();
    // What every throwaway Redis was before: no password, any local user gets in.
    const open = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
      {
        stdio: 'ignore',
      },
    );
    const record = recordInstance({ kind: 'redis', tempDir: dir, dataDir: dir, stopSignal: 'SIGKILL' });
    try {
      record.update({ port, serverPid: open.pid! });
      await pollUntil(async () => !(await portIsClosed(port)), 10_000, 'redis-server listens');
      const checks = await checkSandboxes();
      const failed = checks.filter((c) => !c.ok);
      assert.deepEqual(
        failed.map((c) => c.name),
        [`throwaway redis on port ${port}`],
      );
      assert.match(failed[0]!.detail, /answers a connection without credentials/);
      assert.equal(
        checks.some((c) => c.name === `throwaway redis on port ${redis.port}`),
        false,
      );
    } finally {
      record.remove();
      await killAndWait(open);
      rmSync(dir, { recursive: true, force: true });
      await redis.stop();
    }
  });
});
