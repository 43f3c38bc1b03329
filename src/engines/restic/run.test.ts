import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { TextTail, exitOfProcess } from './run.js';

describe('process helpers', () => {
  test('a producer whose child keeps its stdout open still counts as exited', async () => {
    // The shell exits at once; the sleep it started holds the pipe.
    const child = spawn('sh', ['-c', 'sleep 30 & echo $!; exit 4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const started = Date.now();
    const exit = await exitOfProcess(child, 200);
    try {
      assert.deepEqual(exit, { code: 4, signal: null });
      assert.ok(Date.now() - started < 5000);
    } finally {
      process.kill(Number(out.trim()), 'SIGKILL');
    }
  });

  test('a command that cannot start exits 127', async () => {
    const child = spawn('/nonexistent/producer', [], { stdio: ['ignore', 'pipe', 'pipe'] });
    assert.deepEqual(await exitOfProcess(child), { code: 127, signal: null });
  });

  test('TextTail keeps the end', () => {
    const tail = new TextTail(5);
    for (const part of ['abc', 'defgh', 'ij']) tail.push(part);
    assert.equal(tail.toString(), 'fghij');
  });
});
