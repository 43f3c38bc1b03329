import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { fillFenceCommand, runFenceCommand } from './fence-command.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-fence-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the fence command', () => {
  test('placeholders become the old primary, shell-quoted', () => {
    assert.equal(
      fillFenceCommand(
        'stop {{host}} {{port}} {{target}} {{ dataset }}',
        { name: 'primary', host: 'db 1', port: 5432 },
        'users',
      ),
      "stop 'db 1' 5432 'db 1:5432' users",
    );
  });

  test('exit 0 confirms; a non-zero exit is reported with its output', async () => {
    assert.deepEqual(await runFenceCommand('echo stopped', 5000), {
      code: 0,
      timedOut: false,
      output: 'stopped\n',
    });
    const failed = await runFenceCommand('echo "403 forbidden" >&2; exit 3', 5000);
    assert.deepEqual(failed, { code: 3, timedOut: false, output: '403 forbidden\n' });
  });

  test('a timeout kills the command and every process it started, at once', async () => {
    const marker = join(dir, 'late');
    const started = performance.now();
    // The child holds the output open and would write the marker after 2 s.
    const run = await runFenceCommand(`sh -c 'sleep 2; touch ${marker}' & wait`, 300);
    assert.equal(run.timedOut, true);
    assert.equal(run.code, null);
    assert.ok(performance.now() - started < 1500, 'returned at the timeout, not when the child ended');
    await sleep(2500);
    assert.equal(existsSync(marker), false, 'the child was killed with the command');
  });
});
