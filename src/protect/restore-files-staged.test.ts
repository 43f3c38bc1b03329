/**
 * A files restore never leaves a half-written tree under the final paths: the built CLI
 * against real restic repositories. Restored over an existing tree, the copy is put in place
 * and every file it replaced is kept in a replaced tree; killed (the whole process group,
 * SIGKILL) while restic writes, the live files are untouched and the next restore removes the
 * staged copy and says so; an unproven restore and one onto a full disk (a 4 MiB tmpfs) leave
 * no staged copy and the target as it was.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statfsSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  groupMembers,
  killGroup,
  processesWithEnv,
  spawnCli,
  type CliProcess,
} from '../cli/testing/cli-process.js';
import { runCli } from '../cli/testing/run-cli.js';
import { mountTmpfs, unmount } from '../system/testing/tmpfs.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every regular file and link under `root`: its content's sha256 or its link target. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const info = lstatSync(full);
      if (info.isDirectory()) walk(full);
      else if (info.isSymbolicLink()) out[relative(root, full)] = `-> ${readlinkSync(full)}`;
      else out[relative(root, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(root);
  return out;
}

/** Entries beside `path` (or in it) that a restore of it made: staged copies and replaced trees. */
function marked(dir: string, mark: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.includes(mark)) : [];
}

describe('a files restore stages its copy and renames it into place', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-files-staged-'));
  const plan = join(dir, 'lifeboat.yaml');
  const docs = join(dir, 'docs');
  const bulk = join(dir, 'bulk');
  const children: CliProcess[] = [];
  const lifeboat = (...args: string[]) => runCli([...args, '--plan', plan], { cwd: dir, timeoutMs: 300_000 });
  let backedUpDocs: Record<string, string>;

  before(async () => {
    mkdirSync(join(docs, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(docs, 'a.txt'), 'backed up a\n');
    writeFileSync(join(docs, 'sub', 'b.txt'), 'backed up b\n');
    writeFileSync(join(docs, 'sub', 'deeper', 'c.bin'), randomBytes(50_000));
    symlinkSync('a.txt', join(docs, 'link'));
    // Incompressible and large enough that restic writes it for a while.
    mkdirSync(bulk);
    for (let i = 0; i < 160; i++)
      writeFileSync(join(bulk, `f${String(i).padStart(3, '0')}.bin`), randomBytes(512 * 1024));
    writeFileSync(
      plan,
      `version: 1
organization: Staged Files Restore Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1d
    source: { type: files, paths: [./docs] }
    backup: { every: 1h }
  bulk:
    rpo: 1d
    source: { type: files, paths: [./bulk] }
    backup: { every: 1h }
  checked:
    rpo: 1d
    source: { type: files, paths: [./docs] }
    backup: { every: 1h }
    verify: { checks: [ { name: never-there, command: 'test -f "$LIFEBOAT_TARGET_DIR/no-such-file"' } ] }
`,
    );
    const backup = await lifeboat('backup');
    assert.equal(backup.code, 0, backup.stderr);
    backedUpDocs = tree(docs);
  });

  after(async () => {
    for (const child of children) await killGroup(child).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('over an existing directory: restored files in place, the replaced ones kept, unrelated files untouched', async () => {
    const target = join(dir, 'out');
    const first = await lifeboat('restore', 'docs', '--to', target);
    assert.equal(first.code, 0, first.stderr);
    const copy = join(target, 'docs');
    assert.deepEqual(tree(copy), backedUpDocs);

    writeFileSync(join(copy, 'a.txt'), 'edited since\n');
    writeFileSync(join(copy, 'created-since.txt'), 'mine\n');
    writeFileSync(join(target, 'unrelated.txt'), 'not from any backup\n');
    unlinkSync(join(copy, 'link'));
    writeFileSync(join(copy, 'link'), 'a file where a link was\n');
    const backedUpMode = statSync(join(copy, 'sub')).mode & 0o777;
    chmodSync(join(copy, 'sub'), 0o700);

    const run = await lifeboat('restore', 'docs', '--to', target, '--force', '--yes', '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /files of the same path are replaced/);
    const { result } = JSON.parse(run.stdout) as { result: { ok: boolean; replaced?: string[] } };
    assert.equal(result.ok, true);
    const restored = tree(copy);
    assert.equal(readFileSync(join(copy, 'created-since.txt'), 'utf8'), 'mine\n');
    delete restored['created-since.txt'];
    assert.deepEqual(restored, backedUpDocs);
    assert.equal(readlinkSync(join(copy, 'link')), 'a.txt');
    assert.equal(statSync(join(copy, 'sub')).mode & 0o777, backedUpMode, 'the mode restic restored');
    assert.equal(readFileSync(join(target, 'unrelated.txt'), 'utf8'), 'not from any backup\n');

    const [kept] = marked(dirname(target), '__lifeboat_replaced_');
    assert.ok(kept, 'a replaced tree beside the target');
    const replaced = join(dirname(target), kept);
    assert.match(result.replaced?.join('\n') ?? '', new RegExp(`kept in ${replaced} .*rm -rf ${replaced}`));
    assert.equal(statSync(replaced).mode & 0o777, 0o700);
    // Every live file of a path the copy holds was replaced (those equal to it too), and is kept.
    const inReplaced = (name: string) => join('docs', name);
    assert.deepEqual(tree(replaced), {
      ...Object.fromEntries(Object.entries(backedUpDocs).map(([name, hash]) => [inReplaced(name), hash])),
      [inReplaced('a.txt')]: createHash('sha256').update('edited since\n').digest('hex'),
      [inReplaced('link')]: createHash('sha256').update('a file where a link was\n').digest('hex'),
    });
    assert.deepEqual(marked(dirname(target), '__lifeboat_restore_'), [], 'no staged copy is left');
  });

  test('over the source: the live files replaced, files created since kept, the replaced tree beside them', async () => {
    writeFileSync(join(docs, 'a.txt'), 'live since the backup\n');
    writeFileSync(join(docs, 'sub', 'new.txt'), 'created since\n');
    const run = await lifeboat('restore', 'docs', '--to', 'source', '--force', '--yes', '--json');
    assert.equal(run.code, 0, run.stderr);
    const { result } = JSON.parse(run.stdout) as { result: { ok: boolean; replaced?: string[] } };
    assert.equal(result.ok, true);
    assert.equal(readFileSync(join(docs, 'a.txt'), 'utf8'), 'backed up a\n');
    assert.equal(readFileSync(join(docs, 'sub', 'new.txt'), 'utf8'), 'created since\n');
    const [kept] = marked(dir, 'docs__lifeboat_replaced_');
    assert.ok(kept, readdirSync(dir).join(', '));
    assert.match(result.replaced?.join('\n') ?? '', new RegExp(join(dir, kept)));
    assert.equal(readFileSync(join(dir, kept, docs, 'a.txt'), 'utf8'), 'live since the backup\n');
    assert.deepEqual(marked(dir, '__lifeboat_restore_'), []);
    unlinkSync(join(docs, 'sub', 'new.txt'));
  });

  test('killed (the whole group, SIGKILL) while restic writes: every live file unchanged, no restic left; the next restore clears the copy, says so, and succeeds', async () => {
    // The live files moved on since the backup, and look old: a write by restic shows in the mtime.
    const old = new Date('2001-01-01T00:00:00Z');
    for (const name of readdirSync(bulk)) {
      writeFileSync(join(bulk, name), `live since the backup: ${name}\n`);
      utimesSync(join(bulk, name), old, old);
    }
    const live = tree(bulk);
    const mark = randomUUID();
    const child = spawnCli(['restore', 'bulk', '--to', 'source', '--force', '--yes', '--plan', plan], {
      ...process.env,
      LIFEBOAT_TEST_MARK: mark,
    });
    children.push(child);
    const written = () => {
      for (const name of readdirSync(dir).filter((n) => n.includes('__lifeboat_restore_'))) {
        const staged = join(dir, name, bulk);
        if (existsSync(staged) && readdirSync(staged).length > 0) return true;
      }
      return readdirSync(bulk).some((name) => statSync(join(bulk, name)).mtimeMs > old.getTime());
    };
    const deadline = Date.now() + 120_000;
    let restic: number | undefined;
    for (;;) {
      restic = groupMembers(child.pid).find((m) => m.name === 'restic')?.pid;
      if (restic !== undefined && written()) break;
      if (Date.now() > deadline) assert.fail(`restic never wrote: ${child.stderr.join('\n')}`);
      await sleep(10);
    }
    // Held where it is, mid-write, so that the kill lands while restic writes.
    process.kill(restic, 'SIGSTOP');
    await killGroup(child);
    assert.deepEqual(processesWithEnv('LIFEBOAT_TEST_MARK', mark), [], 'nothing of the restore runs on');

    assert.deepEqual(tree(bulk), live, 'every live file as it was');
    const leftovers = marked(dir, 'bulk__lifeboat_restore_');
    assert.equal(leftovers.length, 1, readdirSync(dir).join(', '));
    assert.equal(statSync(join(dir, leftovers[0]!)).mode & 0o777, 0o700, 'the staged copy is private');

    const next = await lifeboat('restore', 'bulk', '--to', 'source', '--force', '--yes', '--json');
    assert.equal(next.code, 0, next.stderr);
    const { result } = JSON.parse(next.stdout) as { result: { ok: boolean; warnings: string[] } };
    assert.equal(result.ok, true);
    assert.match(
      result.warnings.join('\n'),
      new RegExp(`removed what an interrupted restore left: directory ${join(dir, leftovers[0]!)}`),
    );
    assert.deepEqual(marked(dir, 'bulk__lifeboat_restore_'), []);
    const [kept] = marked(dir, 'bulk__lifeboat_replaced_');
    assert.ok(kept);
    assert.deepEqual(tree(join(dir, kept, bulk)), live, 'the replaced tree holds every old file');
    assert.equal(readdirSync(bulk).length, 160);
    assert.notDeepEqual(tree(bulk), live);
  });

  test('an unproven restore removes its copy and leaves the target as it was', async () => {
    const target = join(dir, 'unproven');
    mkdirSync(join(target, 'docs'), { recursive: true });
    writeFileSync(join(target, 'docs', 'a.txt'), 'there before\n');
    const before = tree(target);
    const run = await lifeboat('restore', 'checked', '--to', target, '--force', '--yes', '--json');
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(tree(target), before);
    assert.deepEqual(marked(dir, 'unproven__lifeboat_'), [], 'no staged copy, nothing replaced');
  });

  describe('onto a full disk', () => {
    const small = join(dir, 'small');
    // Mounted in `before`, not while the suite is declared: a run that filters the test out
    // skips the hooks too, and would leave the mount behind.
    const skip = process.getuid?.() === 0 ? false : 'mounting a tmpfs needs root';
    let mounted = false;
    before(() => {
      const failed = mountTmpfs(small, '4m');
      if (failed) throw new Error(failed);
      mounted = true;
    });
    after(() => {
      if (mounted) unmount(small);
    });

    test(
      'fails naming ENOSPC, the path and the sizes; removes the copy, so the disk is not left full',
      { skip },
      async () => {
        const target = join(small, 'restore');
        const run = await lifeboat('restore', 'bulk', '--to', target);
        assert.equal(run.code, 3, run.stdout + run.stderr);
        assert.match(run.stderr, /no space left on device \(ENOSPC\)/);
        assert.match(run.stderr, new RegExp(`${target}__lifeboat_restore_[0-9a-f]{8}/`), 'the path written');
        assert.match(run.stderr, /holds \d+\.\d MiB and the file system had \d+\.\d MiB free/);
        assert.match(run.stderr, /nothing was replaced/);
        assert.deepEqual(readdirSync(small), [], 'neither the copy nor the target directory it made is left');
        const { bavail, bsize, blocks } = statfsSync(small);
        assert.ok(bavail * bsize > 0.9 * blocks * bsize, 'the space is free again');
      },
    );
  });
});
