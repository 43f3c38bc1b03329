/**
 * `lifeboat status` as a monitoring probe: the built CLI against a plan with a files
 * dataset and an external one; exit 0 whatever it finds unless --check.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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
