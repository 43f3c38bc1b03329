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
import { promtoolCheck } from '../../metrics/testing/promtool.js';
import { assertSamplesMatchStatus, exposedSamples } from '../../metrics/testing/samples.js';
import type { SchedulerLogEntry } from '../../protect/scheduler.js';
import type { StatusRow } from '../../protect/status.js';
import type { SnapshotRecord } from '../../state/store.js';
import { BIN, runCli } from '../testing/run-cli.js';

const exec = promisify(execFile);
let dir: string;
/** Two plans, each with its own `.lifeboat/` beside it. */
const onceDir = () => join(dir, 'once');
const signalDir = () => join(dir, 'signal');
const metricsDir = () => join(dir, 'metrics');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-run-'));
  mkdirSync(join(onceDir(), 'files'), { recursive: true });
  mkdirSync(signalDir());
  writeFileSync(join(onceDir(), 'files', 'a.txt'), 'hello\n');
  mkdirSync(join(metricsDir(), 'files'), { recursive: true });
  writeFileSync(join(metricsDir(), 'files', 'a.txt'), 'metrics\n');
  writeFileSync(
    join(metricsDir(), 'lifeboat.yaml'),
    `version: 1
organization: Run Metrics Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1h
    source: { type: files, paths: [./files] }
    backup: { every: 15m }
`,
  );
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

  test('--metrics serves the status and the scheduler counters over HTTP while it runs, then closes', async () => {
    const plan = join(metricsDir(), 'lifeboat.yaml');
    const child = spawn(
      process.execPath,
      [BIN, 'run', '--plan', plan, '--tick', '1', '--json', '--metrics', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const entries = () =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as SchedulerLogEntry & { url?: string });
    const waitFor = async (what: string, found: () => boolean) => {
      const deadline = Date.now() + 90_000;
      while (!found()) {
        assert.ok(Date.now() < deadline, `${what} never happened:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await waitFor('metrics listening', () => entries().some((e) => e.url));
      const url = entries().find((e) => e.url)!.url!;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      // Everything due (backup, verify, prune) has run.
      await waitFor('the prune', () => entries().some((e) => e.kind === 'prune' && e.event !== 'start'));

      const scrape = await fetch(url);
      assert.equal(scrape.status, 200);
      assert.equal(scrape.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      const text = await scrape.text();
      assert.equal(promtoolCheck(text), '');
      const values = exposedSamples(text);
      for (const kind of ['backup', 'verify', 'prune']) {
        assert.equal(values.get(`lifeboat_scheduler_runs_started_total{kind="${kind}"}`), 1, kind);
        assert.equal(values.get(`lifeboat_scheduler_runs_failed_total{kind="${kind}"}`), 0, kind);
      }
      const status = await runCli(['status', '--plan', plan, '--json']);
      const docs = (JSON.parse(status.stdout) as { datasets: StatusRow[] }).datasets[0]!;
      assert.equal(docs.compliant, true, status.stdout);
      assert.equal(values.get('lifeboat_dataset_compliant{dataset="docs"}'), 1);
      assertSamplesMatchStatus(values, docs);

      const base = url.replace(/\/metrics$/, '');
      assert.equal(await (await fetch(`${base}/healthz`)).text(), 'ok\n');
      assert.equal((await fetch(`${base}/nothing`)).status, 404);

      // The same port again: refused before any work starts, naming the port.
      const port = new URL(url).port;
      const taken = await runCli(['run', '--once', '--plan', plan, '--metrics', `127.0.0.1:${port}`]);
      assert.equal(taken.code, 3, taken.stderr);
      assert.match(taken.stderr, new RegExp(`another process already listens on 127\\.0\\.0\\.1:${port}`));
      assert.equal(taken.stdout, '');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `${stdout}\n${stderr}`);
    await assert.rejects(fetch(entries().find((e) => e.url)!.url!), 'closed with the scheduler');
  });
});
