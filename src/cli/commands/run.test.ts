/**
 * `lifeboat run`: --once does what is due (backup, then verify, then prune) and exits;
 * SIGTERM stops a running scheduler cleanly, once, even when the signal comes twice.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { SchedulerLogEntry } from '../../protect/scheduler.js';
import type { SnapshotRecord } from '../../state/store.js';
import { BIN, runCli } from '../testing/run-cli.js';

const exec = promisify(execFile);
let dir: string;
/** Two plans, each with its own `.lifeboat/` beside it. */
const onceDir = () => join(dir, 'once');
const signalDir = () => join(dir, 'signal');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-run-'));
  mkdirSync(join(onceDir(), 'files'), { recursive: true });
  mkdirSync(signalDir());
  writeFileSync(join(onceDir(), 'files', 'a.txt'), 'hello\n');
  writeFileSync(
    join(onceDir(), 'lifeboat.yaml'),
    `version: 1
organization: Run Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1h
    source: { type: files, paths: [./files] }
    backup: { every: 15m }
  cdn:
    source: { type: external }
`,
  );
  // \`slow\` hangs in its backup, not in its fingerprint (which runs the command first): the
  // first invocation answers at once, later ones sleep.
  writeFileSync(
    join(signalDir(), 'lifeboat.yaml'),
    `version: 1
organization: Run Test
document: { next_review: 2099-01-01 }
datasets:
  slow:
    rpo: 1h
    source:
      type: command
      command: 'n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; if [ "$n" -ge 1 ]; then exec sleep 60; fi; echo data'
    backup: { every: 15m }
`,
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('lifeboat run', () => {
  test('--once backs up, verifies and prunes what is due, one line per action, then exits', async () => {
    const plan = join(onceDir(), 'lifeboat.yaml');
    const result = await runCli(['run', '--once', '--plan', plan, '--json'], { timeoutMs: 120_000 });
    const entries = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SchedulerLogEntry);
    assert.deepEqual(
      entries.filter((e) => e.event === 'start').map((e) => [e.kind, e.reason]),
      [
        ['backup', 'no recovery point yet'],
        ['verify', 'never verified'],
        ['prune', 'never pruned'],
      ],
    );
    assert.deepEqual(
      entries.filter((e) => e.kind && e.event !== 'start').map((e) => [e.kind, e.event]),
      [
        ['backup', 'ok'],
        ['verify', 'ok'],
        ['prune', 'ok'],
      ],
    );
    assert.equal(result.code, 0, result.stderr);
    const status = await runCli(['status', '--check', '--plan', plan]);
    assert.equal(status.code, 0, status.stdout);
    const again = await runCli(['run', '--once', '--plan', plan, '--json'], { timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!again.stdout.includes('"event":"start"'), `nothing is due right after:\n${again.stdout}`);
  });

  test('SIGTERM aborts the running backup, records it, releases every lock and exits 0; a second SIGTERM does not stop twice', async () => {
    const plan = join(signalDir(), 'lifeboat.yaml');
    const count = join(signalDir(), 'count');
    const child = spawn(process.execPath, [BIN, 'run', '--plan', plan, '--tick', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Wait until the slow backup's producer is running (its second invocation).
    const deadline = Date.now() + 60_000;
    while (!(existsSync(count) && readFileSync(count, 'utf8').trim() === '2')) {
      assert.ok(Date.now() < deadline, `the slow backup never started:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    const stopAt = Date.now();
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const code = await exited;
    const took = Date.now() - stopAt;
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.ok(took < 5000, `stopped in ${took} ms`);
    assert.match(stdout, /backup slow: FAILED: backup to .* was cancelled/);
    assert.equal(stdout.match(/scheduler stopping: SIGTERM received/g)?.length, 1);
    assert.equal(stdout.match(/scheduler stopped/g)?.length, 1, 'shutdown ran once');

    const listed = await runCli(['snapshots', 'slow', '--all', '--plan', plan, '--json']);
    const records = (JSON.parse(listed.stdout) as { snapshots: SnapshotRecord[] }).snapshots;
    assert.equal(records[0]?.status, 'failed', 'the aborted run is recorded as failed');
    assert.ok(!records.some((r) => r.status === 'complete'));

    const locks = readdirSync(join(signalDir(), '.lifeboat', 'locks')).filter((f) => f.endsWith('.lock'));
    assert.deepEqual(locks, [], 'every Lifeboat lock released');
    // No restic lock is left (restic 0.14 interrupted during its start-up sometimes leaves its
    // lock; Lifeboat removes it): plain restic can check the repository at once.
    const home = join(signalDir(), '.lifeboat');
    const env = {
      ...process.env,
      RESTIC_REPOSITORY: join(home, 'repository'),
      RESTIC_PASSWORD_FILE: join(home, 'repository.key'),
    };
    assert.equal((await exec('restic', ['list', 'locks', '--no-lock'], { env })).stdout.trim(), '');
    await exec('restic', ['check'], { env });
  });
});
