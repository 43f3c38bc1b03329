/** `lifeboat verify` as a user runs it: the built CLI, a files dataset and a command dataset. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../testing/run-cli.js';

describe('lifeboat verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cli-verify-'));
  const plan = (expected: string) => `version: 1
organization: Verify CLI Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
    verify: { checks: [ { name: readme, command: 'grep -q "${expected}" "$LIFEBOAT_TARGET_DIR/files/README"' } ] }
  inventory:
    rpo: 1d
    source: { type: command, command: "printf 'web-1\\\\nweb-2\\\\n'", filename: hosts.txt }
    backup: { every: 1h }
    verify: { checks: [ { command: "wc -l < hosts.txt", expect: { equals: 2 } } ] }
`;
  const lifeboat = (file: string, ...args: string[]) =>
    runCli([...args, '--plan', join(dir, file)], { cwd: dir, timeoutMs: 60_000 });

  before(async () => {
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files', 'README'), 'restore me\n');
    writeFileSync(join(dir, 'lifeboat.yaml'), plan('restore me'));
    writeFileSync(join(dir, 'wrong.yaml'), plan('something else'));
    const backup = await lifeboat('lifeboat.yaml', 'backup');
    assert.equal(backup.code, 0, backup.stderr);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('good backups verify: exit 0, a table, and a JSON document with --json', async () => {
    const run = await lifeboat('lifeboat.yaml', 'verify');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /docs\s+\w{8}\s+.*equal\s+1\/1\s+ok\s+ok/);
    assert.match(run.stdout, /inventory\s+\w{8}\s+.*n\/a\s+1\/1\s+ok\s+ok/);
    const json = await lifeboat('lifeboat.yaml', 'verify', 'docs', '--json');
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.ok, true);
    assert.deepEqual(
      doc.results.map((r: { dataset: string }) => r.dataset),
      ['docs'],
    );
  });

  test('a failing check: exit 1 and the reason', async () => {
    const run = await lifeboat('wrong.yaml', 'verify', 'docs');
    assert.equal(run.code, 1);
    assert.match(run.stdout, /docs: 1 check\(s\) failed: readme/);
  });

  test('an unknown dataset: exit 2 naming the known ones', async () => {
    const run = await lifeboat('lifeboat.yaml', 'verify', 'nope');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown dataset 'nope'[\s\S]*docs, inventory/);
  });
});
