/** `lifeboat audit`: the audit log a backup wrote, read back and filtered. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../testing/run-cli.js';
import { sinceOf } from './audit.js';

let dir: string;
let plan: string;
const cli = (...args: string[]) => runCli([...args, '--plan', plan], { timeoutMs: 120_000 });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-audit-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(join(dir, 'files', 'a.txt'), 'hello\n');
  plan = join(dir, 'lifeboat.yaml');
  writeFileSync(
    plan,
    'version: 1\norganization: Audit Test\ndatasets:\n  docs:\n    rpo: 1d\n    source: { type: files, paths: [./files] }\n',
  );
  const backup = await cli('backup', 'docs');
  assert.equal(backup.code, 0, backup.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('lifeboat audit', () => {
  test('--json lists the backup, newest first, with who did it and how it ended', async () => {
    const run = await cli('audit', '--json', '--dataset', 'docs');
    assert.equal(run.code, 0, run.stderr);
    const { entries } = JSON.parse(run.stdout) as {
      entries: { action: string; outcome: string; actor: string; target: string; at: string }[];
    };
    const backup = entries.find((e) => e.action === 'backup.run');
    assert.ok(backup, run.stdout);
    assert.equal(backup.outcome, 'ok');
    assert.equal(backup.target, 'dataset:docs');
    assert.ok(backup.actor.length > 0);
    const times = entries.map((e) => e.at);
    assert.deepEqual(times, [...times].sort().reverse());
  });

  test('--since and --action filter; a table without --json', async () => {
    const recent = await cli('audit', '--since', '1h', '--action', 'backup.run');
    assert.equal(recent.code, 0, recent.stderr);
    assert.match(recent.stdout, /^AT\s+ACTOR\s+ACTION/);
    assert.match(recent.stdout, /backup\.run\s+dataset:docs\s+ok/);
    const future = await cli('audit', '--since', '2999-01-01T00:00:00Z');
    assert.equal(future.stdout, 'no audit entries match\n');
  });

  test('bad values are usage errors, before the state store is opened', async () => {
    for (const args of [
      ['--limit', 'abc'],
      ['--limit', '0'],
      ['--since', 'yesterday'],
      ['--dataset', 'nope'],
    ]) {
      const run = await cli('audit', ...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(sinceOf('2h', new Date('2026-01-01T12:00:00Z')), '2026-01-01T10:00:00.000Z');
  });
});
