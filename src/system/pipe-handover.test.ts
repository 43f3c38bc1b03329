import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { holdForHandOver, isHeldForHandOver } from './pipe-handover.js';
import { runTool } from './tool.js';

describe('pipe hand-over', () => {
  test('a producer that writes at once: the tool started later still reads every byte', async () => {
    // 1 MiB, written before the reader exists: Node must not have taken the first chunk.
    const producer = spawn('sh', ['-c', 'head -c 1048576 /dev/zero | tr "\\0" x; printf END'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = once(producer, 'exit');
    assert.equal(holdForHandOver(producer.stdout), true);
    assert.equal(isHeldForHandOver(producer.stdout), true);
    await sleep(300);
    const counted = await runTool('wc', ['-c'], { stdin: producer.stdout });
    producer.stdout.destroy();
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
    assert.equal(counted.stdout.trim(), String(1048576 + 3));
  });

  test('a producer that has exited before the tool starts: its bytes wait in the pipe', async () => {
    // Node drains the output of a child that exits; a held pipe must keep it for the tool.
    const producer = spawn('sh', ['-c', 'printf PGDMP-and-the-rest'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = once(producer, 'exit');
    assert.equal(holdForHandOver(producer.stdout), true);
    await exited;
    await sleep(100);
    const counted = await runTool('cat', [], { stdin: producer.stdout });
    assert.equal(counted.stdout, 'PGDMP-and-the-rest');
  });

  test('a stream that is not a held pipe is read by Lifeboat, as before', async () => {
    const producer = spawn('printf', ['abc'], { stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal(isHeldForHandOver(producer.stdout), false);
    const counted = await runTool('wc', ['-c'], { stdin: producer.stdout });
    assert.equal(counted.stdout.trim(), '3');
  });
});
