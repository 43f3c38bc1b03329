/**
 * `lifeboat doctor` as a user runs it: the built CLI against plans whose environment is
 * broken in one way each, and the message that names what and how to fix it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../system/free-port.js';
import { runCli } from '../testing/run-cli.js';

interface Report {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string; fix?: string; warning?: boolean }[];
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-doctor-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** A plan in its own directory (each gets its own `.lifeboat/`). */
function plan(datasets: string, extra = ''): string {
  const planDir = join(dir, `plan-${++counter}`);
  mkdirSync(join(planDir, 'files'), { recursive: true });
  writeFileSync(join(planDir, 'files', 'a.txt'), 'a\n');
  const file = join(planDir, 'lifeboat.yaml');
  writeFileSync(file, `version: 1\norganization: Doctor Test\ndatasets:\n${datasets}${extra}`);
  return file;
}

async function doctor(file: string): Promise<{ code: number; report: Report; stdout: string }> {
  const result = await runCli(['doctor', '--plan', file, '--json'], { timeoutMs: 60_000 });
  return { code: result.code, report: JSON.parse(result.stdout) as Report, stdout: result.stdout };
}

const check = (report: Report, name: string) => {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `no check '${name}' in ${report.checks.map((c) => c.name).join(', ')}`);
  return found;
};

describe('lifeboat doctor', () => {
  test('a source on a closed port: exit 3, the check names host:port and says what to do', async () => {
    const port = await freePort();
    const file = plan(`  db:
    rpo: 1h
    source: { type: postgres, url: "postgres://postgres@127.0.0.1:${port}/app" }
    backup: { every: 15m }
`);
    const { code, report } = await doctor(file);
    assert.equal(code, 3);
    assert.equal(report.ok, false);
    const db = check(report, 'dataset db');
    assert.equal(db.ok, false);
    assert.match(db.detail, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(db.fix ?? '', /server runs/);
    // The rest still ran: the tools, the (not yet created) repository, the state store.
    assert.equal(check(report, 'tool restic').ok, true);
    assert.equal(check(report, 'state store').ok, true);
    const repository = check(report, 'repository local');
    assert.equal(repository.ok, true);
    assert.equal(repository.warning, true);
    assert.match(repository.detail, /does not exist yet/);
  });

  test('a wrong repository password: the specific message, not a generic failure', async () => {
    const repo = join(dir, 'vault');
    writeFileSync(join(dir, 'right.txt'), 'right horse battery staple\n', { mode: 0o600 });
    execFileSync('restic', ['init', '-r', repo, '--password-file', join(dir, 'right.txt')], {
      stdio: 'pipe',
    });
    const file = plan(
      `  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h, repository: vault }
`,
      `repositories:\n  vault: { url: ${repo}, password: "file:wrong.txt" }\n`,
    );
    writeFileSync(join(file, '..', 'wrong.txt'), 'not the password\n', { mode: 0o600 });
    const { code, report } = await doctor(file);
    assert.equal(code, 3);
    const vault = check(report, 'repository vault');
    assert.equal(vault.ok, false);
    assert.match(vault.detail, /^wrong password for restic repository /);
    assert.match(vault.fix ?? '', /password/);
    assert.equal(check(report, 'dataset docs').ok, true);
    assert.equal(check(report, 'key of repository vault').ok, true);
  });

  test('a healthy plan: exit 0, the key file checked and a reminder to copy it', async () => {
    const file = plan(`  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
`);
    const backup = await runCli(['backup', '--plan', file], { timeoutMs: 60_000 });
    assert.equal(backup.code, 0, backup.stderr);
    const { code, report } = await doctor(file);
    assert.equal(code, 0, JSON.stringify(report.checks.filter((c) => !c.ok)));
    const key = check(report, 'key of repository local');
    assert.match(key.detail, /repository\.key \(mode 0600\)\. Keep a copy outside this machine/);
    assert.match(check(report, 'repository local').detail, /opens \(repository format 2\)/);

    // The same repository with a key readable by others, then with its key gone.
    const keyFile = join(file, '..', '.lifeboat', 'repository.key');
    chmodSync(keyFile, 0o644);
    const loose = await doctor(file);
    assert.equal(loose.code, 3);
    assert.match(check(loose.report, 'key of repository local').fix ?? '', /^chmod 600 /);
    rmSync(keyFile);
    const lost = await doctor(file);
    assert.equal(lost.code, 3);
    assert.match(check(lost.report, 'key of repository local').detail, /missing, but the repository exists/);
    assert.equal(check(lost.report, 'repository local').ok, false);
  });

  test('without a plan: the tools are checked, and the missing plan is the failure', async () => {
    const missing = join(dir, 'nowhere', 'lifeboat.yaml');
    const result = await runCli(['doctor', '--plan', missing], { timeoutMs: 60_000 });
    assert.equal(result.code, 3);
    assert.match(result.stdout, /^FAIL\s+plan\s+no plan at .*nowhere\/lifeboat\.yaml/m);
    assert.match(result.stdout, /^ok\s+tool restic\s+restic \d+\.\d+/m);
    assert.match(result.stdout, /fix: pass --plan FILE/);
  });
});
