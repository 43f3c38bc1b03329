import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { applyCommit, planCommit, type CommitInput } from './commit.js';

describe('putting a staged copy of files in place', () => {
  const root = mkdtempSync(join(tmpdir(), 'lifeboat-files-commit-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;

  /** A staged tree and a live tree side by side, as a restore into `live` leaves them. */
  function trees(): CommitInput {
    const base = join(root, String(n++));
    const input = {
      staging: join(base, 'live__lifeboat_restore_00000000'),
      into: join(base, 'live'),
      replaced: join(base, 'live__lifeboat_replaced_00000000'),
      dev: 0,
    };
    mkdirSync(input.staging, { recursive: true });
    mkdirSync(input.into);
    return { ...input, dev: statSync(base).dev };
  }
  const write = (path: string, text: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  };

  test('files, links and directories: the copy wins, the live ones it replaces are kept, the rest untouched', () => {
    const t = trees();
    write(join(t.staging, 'a.txt'), 'restored a');
    write(join(t.staging, 'dir', 'new.txt'), 'restored new');
    symlinkSync('a.txt', join(t.staging, 'link'));
    write(join(t.staging, 'was-dir'), 'a file now');
    write(join(t.staging, 'fresh', 'deep', 'x'), 'x');
    chmodSync(join(t.staging, 'dir'), 0o750);
    write(join(t.staging, '__lifeboat_restore_owner.json'), '{}');

    write(join(t.into, 'a.txt'), 'live a');
    write(join(t.into, 'dir', 'kept.txt'), 'live only');
    chmodSync(join(t.into, 'dir'), 0o700);
    write(join(t.into, 'link'), 'a file where the link goes');
    write(join(t.into, 'was-dir', 'inside'), 'in a directory the copy replaces');
    write(join(t.into, 'unrelated'), 'untouched');

    const steps = planCommit(t);
    assert.deepEqual(
      steps.map((s) => `${s.kind} ${s.to.slice(t.into.length)}`),
      [
        'replace /a.txt',
        'place /dir/new.txt',
        'directory /dir',
        'place /fresh',
        'replace /link',
        'replace /was-dir',
      ],
    );
    assert.equal(applyCommit(steps, t.replaced), 3);

    assert.equal(readFileSync(join(t.into, 'a.txt'), 'utf8'), 'restored a');
    assert.equal(readFileSync(join(t.into, 'dir', 'new.txt'), 'utf8'), 'restored new');
    assert.equal(readFileSync(join(t.into, 'dir', 'kept.txt'), 'utf8'), 'live only');
    assert.equal(statSync(join(t.into, 'dir')).mode & 0o777, 0o750);
    assert.equal(readlinkSync(join(t.into, 'link')), 'a.txt');
    assert.equal(readFileSync(join(t.into, 'was-dir'), 'utf8'), 'a file now');
    assert.equal(readFileSync(join(t.into, 'fresh', 'deep', 'x'), 'utf8'), 'x');
    assert.equal(readFileSync(join(t.into, 'unrelated'), 'utf8'), 'untouched');
    assert.ok(!existsSync(join(t.into, '__lifeboat_restore_owner.json')));

    assert.equal(readFileSync(join(t.replaced, 'a.txt'), 'utf8'), 'live a');
    assert.equal(readFileSync(join(t.replaced, 'link'), 'utf8'), 'a file where the link goes');
    assert.equal(
      readFileSync(join(t.replaced, 'was-dir', 'inside'), 'utf8'),
      'in a directory the copy replaces',
    );
    assert.equal(statSync(t.replaced).mode & 0o777, 0o700);
  });

  test('over the source: a directory above the paths is followed through its link and keeps its mode', () => {
    const t = trees();
    const elsewhere = join(t.into, 'real-srv');
    write(join(elsewhere, 'app', 'conf'), 'live conf');
    chmodSync(elsewhere, 0o711);
    symlinkSync('real-srv', join(t.into, 'srv'));
    write(join(t.staging, 'srv', 'app', 'conf'), 'restored conf');
    chmodSync(join(t.staging, 'srv'), 0o755);

    applyCommit(planCommit({ ...t, roots: [join(t.into, 'srv', 'app')] }), t.replaced);
    assert.ok(lstatSync(join(t.into, 'srv')).isSymbolicLink(), 'the link stays a link');
    assert.equal(readFileSync(join(elsewhere, 'app', 'conf'), 'utf8'), 'restored conf');
    assert.equal(statSync(elsewhere).mode & 0o777, 0o711);
    assert.equal(readFileSync(join(t.replaced, 'srv', 'app', 'conf'), 'utf8'), 'live conf');
  });

  test('a failure halfway puts back what was done', () => {
    const t = trees();
    write(join(t.staging, 'a'), 'restored a');
    write(join(t.staging, 'b'), 'restored b');
    write(join(t.into, 'a'), 'live a');
    write(join(t.into, 'b'), 'live b');
    const steps = planCommit(t);
    rmSync(join(t.staging, 'b'));
    assert.throws(() => applyCommit(steps, t.replaced), /failed at a rename, and was undone/);
    assert.equal(readFileSync(join(t.into, 'a'), 'utf8'), 'live a');
    assert.equal(readFileSync(join(t.into, 'b'), 'utf8'), 'live b');
    assert.equal(readFileSync(join(t.staging, 'a'), 'utf8'), 'restored a');
    assert.ok(!existsSync(t.replaced), 'nothing is kept when nothing was replaced');
  });

  test('a path on another file system is refused before anything is renamed', () => {
    const t = trees();
    write(join(t.staging, 'a'), 'restored a');
    write(join(t.into, 'a'), 'live a');
    assert.throws(() => planCommit({ ...t, dev: t.dev + 1 }), /on another file system/);
    assert.equal(readFileSync(join(t.into, 'a'), 'utf8'), 'live a');
  });
});
