/** Lifeboat's home and the state store's files are private, whatever the umask, and are tightened when found looser. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../cli/testing/run-cli.js';
import { openStateStore } from '../state/store.js';

const mode = (path: string) => statSync(path).mode & 0o7777;

describe('private state files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-private-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a new store: .lifeboat/ 0700, the database and its -wal and -shm 0600, under umask 022', async () => {
    const home = join(dir, 'new', '.lifeboat');
    const previous = process.umask(0o022);
    try {
      const store = await openStateStore({ path: join(home, 'state.db'), env: {} });
      await store.appendAudit({ actor: 't', action: 'test', outcome: 'ok' });
      assert.equal(mode(home), 0o700);
      for (const file of ['state.db', 'state.db-wal', 'state.db-shm'])
        assert.equal(mode(join(home, file)), 0o600, file);
      await store.close();
    } finally {
      process.umask(previous);
    }
  });

  test('an existing store that is world-readable is tightened when opened', async () => {
    const home = join(dir, 'old', '.lifeboat');
    const store = await openStateStore({ path: join(home, 'state.db'), env: {} });
    await store.close();
    chmodSync(home, 0o755);
    chmodSync(join(home, 'state.db'), 0o644);
    const again = await openStateStore({ path: join(home, 'state.db'), env: {} });
    assert.equal(mode(home), 0o700);
    assert.equal(mode(join(home, 'state.db')), 0o600);
    await again.close();
  });

  test('a shared directory holding a store elsewhere is left as it is', async () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const store = await openStateStore({ path: join(shared, 'state.db'), env: {} });
    await store.close();
    assert.equal(mode(shared), 0o1777);
    assert.equal(mode(join(shared, 'state.db')), 0o600);
  });

  test('after a backup through the CLI, nothing under .lifeboat/ is readable by others', async () => {
    const project = join(dir, 'project');
    mkdirSync(join(project, 'files'), { recursive: true });
    writeFileSync(join(project, 'files', 'a'), 'a\n');
    writeFileSync(
      join(project, 'lifeboat.yaml'),
      `version: 1
organization: Private Files Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
`,
    );
    const backup = await runCli(['backup', '--plan', join(project, 'lifeboat.yaml')], { timeoutMs: 60_000 });
    assert.equal(backup.code, 0, backup.stderr);
    const home = join(project, '.lifeboat');
    assert.equal(mode(home), 0o700);
    assert.equal(mode(join(home, 'locks')), 0o700);
    assert.equal(mode(join(home, 'state.db')), 0o600);
    assert.equal(mode(join(home, 'repository.key')), 0o600);
  });
});
