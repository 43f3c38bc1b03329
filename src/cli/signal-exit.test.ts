/**
 * SIGTERM to a long command, as a service manager or `kill` sends it to Lifeboat's pid alone:
 * the command ends with exit 130 (the README's "interrupted"), says nothing of success after
 * "interrupted", and leaves no process behind, not even one its children started (a shell
 * producer's `sleep`, a check's command). Each command is made slow where it waits on
 * something the plan names: a command source that sleeps, a check that sleeps.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { killGroup, processesWithEnv, spawnCli, type CliProcess } from './testing/cli-process.js';
import { runCli } from './testing/run-cli.js';

const MARKER = 'LIFEBOAT_TEST_MARKER';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
let dir: string;
const plan = () => join(dir, 'lifeboat.yaml');
const flag = (name: string) => join(dir, name);
const running: CliProcess[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-signal-exit-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(join(dir, 'files', 'a.txt'), 'alpha\n');
  // Each sleeps only while its flag file exists, and says when it started sleeping.
  const slowWhile = (name: string, seconds = 60) =>
    `if [ -e ${flag(name)} ]; then touch ${flag(`${name}.started`)}; sleep ${seconds}; fi`;
  writeFileSync(
    plan(),
    `version: 1
organization: Signal Exit Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1h
    source: { type: files, paths: [./files] }
    backup: { every: 15m }
    verify:
      checks:
        - { name: slow, command: "${slowWhile('slow-check')}" }
        - { name: short, command: "${slowWhile('short-check', 1)}" }
  stream:
    rpo: 1h
    source: { type: command, command: "echo data; ${slowWhile('slow-source')}" }
    backup: { every: 15m }
`,
  );
  const first = await runCli(['backup', '--plan', plan(), '--json'], { timeoutMs: 90_000 });
  assert.equal(first.code, 0, first.stderr);
});

after(async () => {
  for (const child of running) await killGroup(child).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `args` until `started` exists (or the pause point is reached), SIGTERMs the Lifeboat
 * process alone, and waits for it to end; asserts that nothing carrying its marker is left.
 */
async function terminateWhen(args: string[], started: string, env: NodeJS.ProcessEnv = {}): Promise<Ended> {
  rmSync(started, { force: true });
  const marker = `signal-exit-${process.pid}-${Date.now()}`;
  const child = spawnCli([...args, '--plan', plan()], { ...process.env, ...env, [MARKER]: marker });
  running.push(child);
  const deadline = Date.now() + 60_000;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (!existsSync(started)) {
    assert.ok(!exited && Date.now() < deadline, `not started; stderr:\n${child.stderr.join('\n')}`);
    await sleep(50);
  }
  process.kill(child.pid, 'SIGTERM');
  const code = await Promise.race([child.exited, sleep(15_000).then(() => 'still running' as const)]);
  assert.notEqual(code, 'still running', `SIGTERM did not end it; stderr:\n${child.stderr.join('\n')}`);
  const leftDeadline = Date.now() + 3000;
  while (processesWithEnv(MARKER, marker).length > 0 && Date.now() < leftDeadline) await sleep(50);
  const left = processesWithEnv(MARKER, marker);
  for (const p of left) process.kill(p.pid, 'SIGKILL');
  assert.deepEqual(left, [], 'left running after the command ended');
  return { code: code as number | null, stdout: child.stdout.join('\n'), stderr: child.stderr.join('\n') };
}

function assertInterrupted(ended: Ended, success: RegExp): void {
  assert.equal(ended.code, 130, `${ended.stdout}\n${ended.stderr}`);
  assert.match(ended.stderr, /interrupted by SIGTERM/);
  const afterInterrupt = ended.stderr.slice(ended.stderr.indexOf('interrupted by SIGTERM'));
  assert.doesNotMatch(afterInterrupt + ended.stdout, success);
}

describe('SIGTERM ends a long command with exit 130', { timeout: 120_000 }, () => {
  test('backup, while a shell producer streams', async () => {
    writeFileSync(flag('slow-source'), '');
    try {
      const ended = await terminateWhen(['backup', 'stream'], flag('slow-source.started'));
      assertInterrupted(ended, /: ok, snapshot|"ok": true/);
    } finally {
      rmSync(flag('slow-source'));
    }
  });

  test('backup --json, while a shell producer streams', async () => {
    writeFileSync(flag('slow-source'), '');
    try {
      const ended = await terminateWhen(['backup', 'stream', '--json'], flag('slow-source.started'));
      assertInterrupted(ended, /"ok": true/);
    } finally {
      rmSync(flag('slow-source'));
    }
  });

  test('verify, while a check runs', async () => {
    writeFileSync(flag('slow-check'), '');
    try {
      const ended = await terminateWhen(['verify', 'docs'], flag('slow-check.started'));
      assertInterrupted(ended, /verified|\bok\s*$/m);
    } finally {
      rmSync(flag('slow-check'));
    }
    // The interrupted verification is no verdict: the next one runs and passes.
    const again = await runCli(['verify', 'docs', '--plan', plan()], { timeoutMs: 90_000 });
    assert.equal(again.code, 0, again.stderr);
  });

  test('verify whose check ends well right after the signal is still interrupted, and not recorded', async () => {
    writeFileSync(flag('short-check'), '');
    try {
      const ended = await terminateWhen(['verify', 'docs', '--json'], flag('short-check.started'));
      assertInterrupted(ended, /^\{\n {2}"ok": true/m);
      assert.match(ended.stdout, /"error": "interrupted before the verification was recorded"/);
    } finally {
      rmSync(flag('short-check'));
    }
  });

  test('restore, while a check of the restored copy runs', async () => {
    writeFileSync(flag('slow-check'), '');
    try {
      const ended = await terminateWhen(
        ['restore', 'docs', '--to', join(dir, 'restored')],
        flag('slow-check.started'),
      );
      assertInterrupted(ended, /restored and proven|\bok\b/);
    } finally {
      rmSync(flag('slow-check'));
    }
  });

  test('prune, between marking and forgetting', async () => {
    const backup = await runCli(['backup', 'docs', '--plan', plan()], { timeoutMs: 90_000 });
    assert.equal(backup.code, 0, backup.stderr);
    const paused = flag('paused');
    const ended = await terminateWhen(['prune'], paused, {
      LIFEBOAT_TEST_PAUSE_AT: 'prune:marked',
      LIFEBOAT_TEST_PAUSED_FILE: paused,
    });
    assertInterrupted(ended, /forgot \d+ snapshot/);
    const again = await runCli(['prune', '--plan', plan()], { timeoutMs: 90_000 });
    assert.equal(again.code, 0, again.stderr);
  });
});
