/**
 * `lifeboat demo --json --dir DIR`, the README's main job, as a user runs it: every dataset
 * backed up and verified, the servers gone afterwards, and the repository readable by plain
 * restic with the key file the demo printed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { portIsClosed } from '../../system/free-port.js';
import { runCli, type CliRun } from '../testing/run-cli.js';

interface DemoJson {
  ok: boolean;
  plan: string;
  repository: { url: string; passwordFile: string };
  datasets: {
    id: string;
    type: string;
    snapshot: string;
    verified: boolean;
    bytes: number;
    backupSeconds: number;
    restoreSeconds: number;
    rpoStatus: string;
  }[];
  servers: { kept: boolean; postgres: { port: number }; mariadb: { port: number }; redis: { port: number } };
  seconds: { total: number };
  commands: { snapshots: string; restic: string };
}

let dir: string;
let run: CliRun;
let report: DemoJson;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-demo-test-'));
  run = await runCli(['demo', '--json', '--dir', dir], { timeoutMs: 170_000 });
  report = JSON.parse(run.stdout) as DemoJson;
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('lifeboat demo', { timeout: 180_000 }, () => {
  test('exits 0 with one JSON object: plan, repository, and every dataset verified', () => {
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    assert.equal(report.ok, true);
    assert.equal(report.plan, join(dir, 'lifeboat.yaml'));
    assert.deepEqual(report.repository, {
      url: join(dir, '.lifeboat', 'repository'),
      passwordFile: join(dir, '.lifeboat', 'repository.key'),
    });
    assert.deepEqual(
      report.datasets.map((d) => [d.id, d.type, d.verified]),
      [
        ['postgres', 'postgres', true],
        ['mariadb', 'mysql', true],
        ['redis', 'redis', true],
        ['files', 'files', true],
      ],
    );
    for (const d of report.datasets) {
      assert.match(d.snapshot, /^[0-9a-f]{64}$/, d.id);
      assert.ok(d.bytes > 0 && d.backupSeconds > 0 && d.restoreSeconds > 0, JSON.stringify(d));
      assert.equal(d.rpoStatus, 'met', d.id);
    }
    assert.ok(report.seconds.total < 120, `the demo took ${report.seconds.total} s`);
    // Progress went to stderr as JSON lines, stdout kept the one document.
    assert.ok(run.stderr.split('\n').some((line) => line.includes('"verify-dataset-done"')));
  });

  test('the throwaway servers are gone afterwards', async () => {
    assert.equal(report.servers.kept, false);
    for (const server of [report.servers.postgres, report.servers.mariadb, report.servers.redis]) {
      assert.ok(await portIsClosed(server.port), `port ${server.port} is still open`);
    }
    assert.equal(existsSync(join(dir, '.lifeboat', 'demo-servers.json')), false);
  });

  test('plain restic lists the snapshots with the printed password file', () => {
    assert.equal(
      report.commands.restic,
      `restic -r ${report.repository.url} --password-file ${report.repository.passwordFile} snapshots`,
    );
    const out = execFileSync(
      'restic',
      [
        '-r',
        report.repository.url,
        '--password-file',
        report.repository.passwordFile,
        'snapshots',
        '--json',
        '--tag',
        'lifeboat:complete',
      ],
      { encoding: 'utf8' },
    );
    const snapshots = JSON.parse(out) as { id: string; tags: string[] }[];
    for (const d of report.datasets) {
      assert.ok(
        snapshots.some(
          (s) =>
            s.id === d.snapshot &&
            s.tags.includes(`dataset=${d.id}`) &&
            s.tags.includes('unit=lifeboat-manifest.json'),
        ),
        `the manifest snapshot of ${d.id}`,
      );
    }
    assert.ok(readFileSync(report.plan, 'utf8').startsWith('# Written by `lifeboat demo`'));
  });
});
