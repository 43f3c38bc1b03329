/**
 * `lifeboat status` as a monitoring probe: the built CLI against a plan with a files
 * dataset and an external one; exit 0 whatever it finds unless --check. Live exposure on
 * real servers is tested in protect/status-live.test.ts; here, servers that are not there.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promtoolCheck } from '../../metrics/testing/promtool.js';
import { assertSamplesMatchStatus, exposedSamples } from '../../metrics/testing/samples.js';
import { openStateStore } from '../../state/store.js';
import type { StatusRow } from '../../protect/status.js';
import { runCli } from '../testing/run-cli.js';

let dir: string;
const plan = () => join(dir, 'lifeboat.yaml');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-status-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(join(dir, 'files', 'a.txt'), 'hello\n');
  writeFileSync(
    plan(),
    `version: 1
organization: Status CLI
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1h
    source: { type: files, paths: [./files] }
    backup: { every: 15m }
  cdn:
    source: { type: external, vendor: cloudflare }
`,
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function statusJson(...extra: string[]) {
  const result = await runCli(['status', '--plan', plan(), '--json', ...extra]);
  return { ...result, report: JSON.parse(result.stdout) as { compliant: boolean; datasets: StatusRow[] } };
}

describe('lifeboat status', () => {
  test('before any backup: not compliant, exit 0; with --check, exit 1', async () => {
    const text = await runCli(['status', '--plan', plan()]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /docs\s+1h\s+never\s+never\s+-\s+NOT COMPLIANT/);
    assert.match(text.stdout, /docs: no recovery point yet/);
    assert.match(text.stdout, /docs: never verified/);
    assert.match(text.stdout, /cdn: not protected by Lifeboat: external/);

    const { code, report } = await statusJson('--check');
    assert.equal(code, 1);
    assert.equal(report.compliant, false);
    const docs = report.datasets.find((d) => d.dataset === 'docs')!;
    assert.deepEqual(docs.reasons, ['no recovery point yet', 'never verified']);
    assert.equal(report.datasets.find((d) => d.dataset === 'cdn')!.compliant, null);
  });

  test('after a backup and a passing verification: compliant, --check exits 0', async () => {
    const backup = await runCli(['backup', 'docs', '--plan', plan()], { timeoutMs: 60_000 });
    assert.equal(backup.code, 0, backup.stderr);
    let { report } = await statusJson();
    let docs = report.datasets.find((d) => d.dataset === 'docs')!;
    assert.deepEqual(docs.reasons, ['never verified']);
    assert.ok(docs.newest && docs.newest.ageSeconds < 60);

    // What `lifeboat verify` records when it passes (verify is tested on its own).
    const state = await openStateStore({ path: join(dir, '.lifeboat', 'state.db'), env: {} });
    const point = await state.latestCompleteSnapshot('docs');
    await state.recordVerification({
      snapshotId: point!.id,
      dataset: 'docs',
      startedAt: new Date().toISOString(),
      ok: true,
    });
    await state.close();

    const checked = await statusJson('--check');
    assert.equal(checked.code, 0, checked.stdout);
    report = checked.report;
    docs = report.datasets.find((d) => d.dataset === 'docs')!;
    assert.equal(docs.compliant, true);
    assert.equal(docs.verified?.snapshotId, point!.resticSnapshotId);
    assert.equal(report.compliant, true, 'datasets that are not judged do not fail the check');
  });

  test('a dataset can be named; an unknown one is a usage error', async () => {
    const one = await statusJson('cdn');
    assert.deepEqual(
      one.report.datasets.map((d) => d.dataset),
      ['cdn'],
    );
    const bad = await runCli(['status', 'nope', '--plan', plan()]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown dataset 'nope'/);
  });

  test('--help says what compliant means', async () => {
    const help = await runCli(['status', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /no older than its RPO/);
    assert.match(help.stdout, /--check/);
  });
});

describe('lifeboat status --format prometheus (after the backup above)', () => {
  test('promtool accepts it, and it says what --json says', async () => {
    const prom = await runCli(['status', '--plan', plan(), '--format', 'prometheus']);
    assert.equal(prom.code, 0, prom.stderr);
    assert.equal(promtoolCheck(prom.stdout), '');
    const values = exposedSamples(prom.stdout);
    const docs = (await statusJson()).report.datasets.find((d) => d.dataset === 'docs')!;
    assertSamplesMatchStatus(values, docs);
    assert.equal(values.get('lifeboat_dataset_compliant{dataset="docs"}'), 1);
    assert.ok(values.get('lifeboat_backup_last_duration_seconds{dataset="docs"}')! > 0);
    assert.equal(values.get('lifeboat_backup_last_size_bytes{dataset="docs"}'), 'hello\n'.length);
    assert.equal(values.get('lifeboat_dataset_protected{dataset="cdn"}'), 0);
    assert.equal(values.has('lifeboat_dataset_compliant{dataset="cdn"}'), false);
  });

  test('-o FILE writes the exposition whole, beside no temporary file, and prints nothing', async () => {
    const out = join(dir, 'textfile');
    mkdirSync(out);
    const file = join(out, 'lifeboat.prom');
    writeFileSync(file, 'the previous scrape\n');
    const written = await runCli([
      'status',
      '--plan',
      plan(),
      '--format',
      'prometheus',
      '-o',
      file,
      '--check',
    ]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout, '');
    assert.deepEqual(readdirSync(out), ['lifeboat.prom']);
    const text = readFileSync(file, 'utf8');
    assert.equal(promtoolCheck(text), '');
    assert.match(text, /^lifeboat_dataset_compliant\{dataset="docs"\} 1$/m);

    const missing = await runCli([
      'status',
      '--plan',
      plan(),
      '-f',
      'prometheus',
      '-o',
      join(dir, 'no', 'x.prom'),
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot write .*x\.prom: ENOENT\nhint: create its directory first/);
  });

  test('an unknown format, or --json with another, is a usage error', async () => {
    const unknown = await runCli(['status', '--plan', plan(), '--format', 'xml']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown format 'xml'/);
    const both = await runCli(['status', '--plan', plan(), '--json', '--format', 'prometheus']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--json and --format prometheus/);
    const json = await runCli(['status', '--plan', plan(), '--format', 'json']);
    assert.equal((JSON.parse(json.stdout) as { compliant: boolean }).compliant, true);
  });
});

/** A TCP port nothing listens on: one the kernel just handed out, closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('lifeboat status of a physical dataset whose servers cannot be reached', () => {
  test('reports the exposure unknown with host and port, the standby unreachable, and does not fail', async () => {
    const [primaryPort, standbyPort] = [await closedPort(), await closedPort()];
    const file = join(dir, 'unreachable.yaml');
    writeFileSync(
      file,
      `version: 1
organization: Status CLI
document: { next_review: 2099-01-01 }
datasets:
  orders:
    rpo: 5m
    source: { type: postgres, url: "postgres://postgres@127.0.0.1:${primaryPort}/postgres" }
    backup: { method: physical, every: 1h }
    replication: { standby: "postgres://postgres@127.0.0.1:${standbyPort}/postgres", max_lag: 1m }
`,
    );
    const json = await runCli(['status', '--plan', file, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const orders = (JSON.parse(json.stdout) as { datasets: StatusRow[] }).datasets[0]!;
    assert.equal(orders.exposure?.status, 'unknown');
    assert.deepEqual(
      { host: orders.exposure?.error?.host, port: orders.exposure?.error?.port },
      { host: '127.0.0.1', port: primaryPort },
    );
    assert.match(orders.exposure?.reason ?? '', new RegExp(`127\\.0\\.0\\.1:${primaryPort} is unreachable`));
    assert.equal(orders.replication?.status, 'unreachable');
    assert.equal(orders.replication?.error?.port, standbyPort);
    assert.equal(orders.replication?.replayLagBytes, null);
    assert.deepEqual(orders.reasons, ['no recovery point yet', 'never verified'], 'unknown is no breach');
    assert.equal(orders.warnings.length, 2);

    const text = await runCli(['status', '--plan', file]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /WAL archive, live:\n.*\norders\s+-\s+-\s+0\s+-\s+5m\s+unknown/);
    assert.match(text.stdout, /Standbys, live:\n.*\norders\s+\S+\s+unreachable\s+-\s+1m/);
    assert.match(
      text.stdout,
      new RegExp(`orders: warning: live exposure unknown: .*127\\.0\\.0\\.1:${primaryPort}`),
    );
    assert.equal((await runCli(['status', '--plan', file, '--check'])).code, 1);
  });
});
