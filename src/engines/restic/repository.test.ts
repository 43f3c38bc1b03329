import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError, OperationError } from '../../errors.js';
import { findRestic, type ResticBinary } from './binary.js';
import { COMPLETE_TAG, PENDING_TAG, ResticRepository } from './repository.js';
import type { BackupChildConfig } from './testing/backup-child.js';
import {
  childPids,
  rawRestic,
  repeatableBytes,
  sha256Of,
  sha256OfCommand,
  stallingBytes,
  waitFor,
} from './testing/helpers.js';

const PASSWORD = 'correct horse battery staple';
const MiB = 1024 * 1024;

// Each test has its own repository; they run side by side to keep the file quick.
describe('ResticRepository against a real restic', { concurrency: 4 }, () => {
  let dir: string;
  let restic: ResticBinary;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-restic-test-'));
    restic = await findRestic();
    // restic init spends seconds calibrating its key derivation: tests start from copies
    // of one initialized repository (each with its own cache, as copies share an id).
    const init = raw('template', ['init']);
    assert.equal(init.status, 0, init.stderr);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const repoPath = (name: string) => join(dir, name);
  const open = (name: string, password = PASSWORD) =>
    new ResticRepository({
      url: repoPath(name),
      password,
      lockDir: join(dir, `locks-${name}`),
      cacheDir: join(dir, `cache-${name}`),
    });
  /** A fresh, initialized repository. */
  const fresh = async (name: string) => {
    await cp(repoPath('template'), repoPath(name), { recursive: true });
    return open(name);
  };
  const raw = (name: string, args: string[], input?: string) =>
    rawRestic(restic.path, { RESTIC_REPOSITORY: repoPath(name), RESTIC_PASSWORD: PASSWORD }, args, input);
  const completeOf = async (repo: ResticRepository, tag: string) =>
    repo.snapshots({ tags: [COMPLETE_TAG, tag] });

  test('init is idempotent', async () => {
    const repo = open('init');
    assert.deepEqual(await repo.init(), { created: true });
    assert.deepEqual(await repo.init(), { created: false });
    assert.deepEqual(await repo.snapshots(), []);
  });

  test('a 20 MB stream goes in through a producer and comes back byte for byte', async () => {
    const repo = await fresh('roundtrip');
    const producer = repeatableBytes(20 * MiB);
    const expected = await sha256OfCommand(producer.command, producer.args);
    const progress: number[] = [];
    const result = await repo.backupStream({
      producer,
      filename: 'data.bin',
      tags: ['dataset:blob'],
      onProgress: (p) => progress.push(p.bytesDone),
    });
    assert.equal(result.totalBytesProcessed, 20 * MiB);
    assert.match(result.snapshotId, /^[0-9a-f]{64}$/);
    assert.deepEqual(result.tags.sort(), [COMPLETE_TAG, 'dataset:blob'].sort());
    assert.ok(progress.length > 0, 'progress was reported');

    // The id returned is the snapshot's id after retagging: the one the repository lists.
    const listed = await completeOf(repo, 'dataset:blob');
    assert.deepEqual(
      listed.map((s) => s.id),
      [result.snapshotId],
    );
    assert.equal((await repo.snapshots({ tags: [PENDING_TAG] })).length, 0);

    const dump = await repo.dumpStream(result.snapshotId, 'data.bin');
    assert.equal(await sha256Of(dump.stream), expected);
    await dump.done;

    // A file that is not in the snapshot: the stream errors instead of ending cleanly.
    const missing = await repo.dumpStream(result.snapshotId, 'other.bin');
    await assert.rejects(sha256Of(missing.stream), OperationError);
    await assert.rejects(missing.done, OperationError);
  });

  test('a run: pending units side by side in one session, then a file stored complete at once', async () => {
    const repo = await fresh('run');
    const [a, b] = await repo.session(() =>
      Promise.all(
        ['a.bin', 'b.bin'].map((filename) =>
          repo.backupStream({
            producer: repeatableBytes(2 * MiB),
            filename,
            tags: ['run=r1'],
            mark: 'pending',
          }),
        ),
      ),
    );
    // Full ids although restic 0.14 prints short ones, and never retagged.
    assert.match(a!.snapshotId, /^[0-9a-f]{64}$/);
    assert.deepEqual(a!.tags, [PENDING_TAG, 'run=r1']);
    const pending = await repo.snapshots({ tags: [PENDING_TAG, 'run=r1'] });
    assert.deepEqual(pending.map((s) => s.id).sort(), [a!.snapshotId, b!.snapshotId].sort());

    const file = join(dir, 'manifest.json');
    await writeFile(file, JSON.stringify({ units: [a!.snapshotId, b!.snapshotId] }));
    const stored = await repo.backupFile({ path: file, filename: 'manifest.json', tags: ['run=r1'] });
    assert.equal(stored.totalBytesProcessed, (await readFile(file)).length);
    assert.deepEqual(
      (await completeOf(repo, 'run=r1')).map((s) => s.id),
      [stored.snapshotId],
    );
    const dump = await repo.dumpStream(stored.snapshotId, 'manifest.json');
    assert.equal(await sha256Of(dump.stream), await sha256Of(createReadStream(file)));
    await dump.done;
  });

  test('a producer that fails half way: OperationError, and no complete snapshot', async () => {
    const repo = await fresh('failing');
    const error = await repo
      .backupStream({
        producer: {
          command: 'sh',
          args: ['-c', 'head -c 3000000 /dev/urandom; echo "dump: lost connection" >&2; exit 3'],
        },
        filename: 'dump.sql',
        tags: ['dataset:db'],
      })
      .then(
        () => assert.fail('the backup should fail'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof OperationError, String(error));
    assert.match(error.message, /producer exited with 3: dump: lost connection/);
    assert.equal(error.details?.producerExitCode, 3);
    assert.match(String(error.details?.producerStderr), /lost connection/);
    // restic 0.14 saw a plain end of file and saved a snapshot: Lifeboat forgot it.
    if (!restic.features.stdinFromCommand) {
      assert.equal(error.details?.resticExitCode, 0);
      assert.equal(error.details?.partialSnapshotForgotten, true);
    }
    assert.deepEqual(await completeOf(repo, 'dataset:db'), []);
    assert.deepEqual(await repo.snapshots(), []);

    // A producer that cannot even start fails the same way.
    await assert.rejects(
      repo.backupStream({ producer: { command: '/nonexistent/pg_dump', args: [] }, filename: 'x', tags: [] }),
      (e: unknown) =>
        e instanceof OperationError && /exited with 127: cannot start \/nonexistent\/pg_dump/.test(e.message),
    );
    assert.deepEqual(await repo.snapshots(), []);
  });

  test('an aborted backup stops restic cleanly: no snapshot, no lock left', async () => {
    const repo = await fresh('aborted');
    const controller = new AbortController();
    const error = await repo
      .backupStream({
        producer: stallingBytes(),
        filename: 'slow.bin',
        tags: ['dataset:slow'],
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytesDone > 0) controller.abort();
        },
      })
      .then(
        () => assert.fail('the backup should be cancelled'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof OperationError && /was cancelled/.test(error.message), String(error));
    assert.deepEqual(readdirSync(join(repoPath('aborted'), 'locks')), []);
    assert.deepEqual(await repo.snapshots(), []);
  });

  test('restic killed with SIGKILL mid-way: the backup fails, the next run clears the stale lock', async () => {
    const repo = await fresh('restic-killed');
    let midway: () => void;
    const reachedMidway = new Promise<void>((resolve) => (midway = resolve));
    const running = repo.backupStream({
      producer: stallingBytes(),
      filename: 'kill-me.bin',
      tags: ['dataset:slow'],
      onProgress: (p) => p.bytesDone > 0 && midway(),
    });
    await reachedMidway;
    const [pid] = await waitFor('the restic process', () => {
      const pids = childPids(process.pid, '--stdin-filename=kill-me.bin');
      return pids.length > 0 ? pids : undefined;
    });
    process.kill(pid!, 'SIGKILL');
    await assert.rejects(
      running,
      (e: unknown) => e instanceof OperationError && /killed by SIGKILL/.test(e.message),
    );
    // restic had no chance to remove its lock: an exclusive command fails on it...
    const blocked = raw('restic-killed', ['check']);
    assert.equal(blocked.status, 1);
    assert.match(blocked.stderr, /repository is already locked by PID \d+/);
    // ...but Lifeboat's next run sees its holder is gone, removes it, and goes on.
    await repo.check();
    assert.equal(raw('restic-killed', ['check']).status, 0);
    assert.deepEqual(await repo.snapshots(), []);
    const next = await repo.backupStream({
      producer: repeatableBytes(1000),
      filename: 'slow.bin',
      tags: ['dataset:slow'],
    });
    assert.deepEqual(
      (await completeOf(repo, 'dataset:slow')).map((s) => s.id),
      [next.snapshotId],
    );
  });

  test('the whole Lifeboat process group killed with SIGKILL: no complete snapshot, repository consistent', async () => {
    const name = 'group-killed';
    const repo = await fresh(name);
    const config: BackupChildConfig = {
      url: repoPath(name),
      password: PASSWORD,
      lockDir: join(dir, `locks-${name}`),
      cacheDir: join(dir, `cache-${name}`),
      filename: 'slow.bin',
      tags: ['dataset:slow'],
      producer: stallingBytes(),
    };
    // The child runs the same module as this test: TypeScript under tsx, or compiled JavaScript.
    const ext = extname(fileURLToPath(import.meta.url));
    const script = fileURLToPath(new URL(`./testing/backup-child${ext}`, import.meta.url));
    const child = spawn(
      process.execPath,
      [...(ext === '.ts' ? ['--import', 'tsx'] : []), script, JSON.stringify(config)],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const closed = new Promise((r) => child.once('close', r));
    try {
      const lines = createInterface({ input: child.stdout });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the child never reported progress')), 30_000);
        lines.on('line', (line) => {
          const message = JSON.parse(line) as { progress?: { bytesDone: number }; error?: string };
          if (message.error) reject(new Error(message.error));
          if ((message.progress?.bytesDone ?? 0) > 0) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await closed;
    }
    // Until init reaps them, killed processes linger as zombies, and restic counts a lock of a
    // pid that still exists as live. A crashed host has no such window; wait it out here.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        process.kill(-child.pid!, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Both locks stayed behind: Lifeboat's lock file and restic's lock in the repository.
    assert.equal(readdirSync(join(dir, `locks-${name}`)).filter((f) => f.endsWith('.lock')).length, 1);
    assert.ok(readdirSync(join(repoPath(name), 'locks')).length > 0);
    // The next Lifeboat run breaks the stale lock file, removes restic's stale lock, checks.
    await repo.check();
    assert.equal(raw(name, ['check']).status, 0);
    assert.deepEqual(await completeOf(repo, 'dataset:slow'), []);
    const next = await repo.backupStream({
      producer: repeatableBytes(1000),
      filename: 'slow.bin',
      tags: ['dataset:slow'],
    });
    assert.deepEqual(
      (await completeOf(repo, 'dataset:slow')).map((s) => s.id),
      [next.snapshotId],
    );
    assert.equal(readdirSync(join(dir, `locks-${name}`)).filter((f) => f.endsWith('.lock')).length, 0);
  });

  test('forget applies keep rules to the complete snapshots of one dataset only', async () => {
    const name = 'forget';
    const repo = await fresh(name);
    const make = (time: string, tags: string) => {
      const result = raw(
        name,
        ['backup', '--json', '--stdin', '--stdin-filename=a.txt', `--time=${time}`, `--tag=${tags}`],
        time,
      );
      assert.equal(result.status, 0, result.stderr);
      return (JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { snapshot_id: string }).snapshot_id;
    };
    const a = `${COMPLETE_TAG},dataset:a`;
    const day1a = make('2026-01-01 10:00:00', a);
    const day2 = make('2026-01-02 10:00:00', a);
    const day3a = make('2026-01-03 10:00:00', a);
    const day3b = make('2026-01-03 11:00:00', a);
    const pending = make('2026-01-03 12:00:00', `${PENDING_TAG},dataset:a`);
    const other = make('2026-01-01 09:00:00', `${COMPLETE_TAG},dataset:b`);

    const short = (ids: { shortId: string }[]) => ids.map((s) => s.shortId).sort();
    const result = await repo.forget({
      tags: [COMPLETE_TAG, 'dataset:a'],
      keepLast: 1,
      keepDaily: 2,
      prune: true,
    });
    // keepLast 1 keeps day 3 11:00; keepDaily 2 keeps the newest of days 3 and 2.
    assert.deepEqual(short(result.kept), [day2, day3b].sort());
    assert.deepEqual(short(result.removed), [day1a, day3a].sort());
    assert.deepEqual(short(await repo.snapshots()), [day2, day3b, pending, other].sort());

    await repo.forgetIds([pending]);
    assert.deepEqual(short(await repo.snapshots({ tags: ['dataset:a'] })), [day2, day3b].sort());
    assert.equal(raw(name, ['check']).status, 0);
  });

  test('files and directories: backupPaths with excludes, restoreTo', async () => {
    const repo = await fresh('paths');
    const source = join(dir, 'source');
    await mkdir(join(source, 'sub'), { recursive: true });
    await writeFile(join(source, 'keep.txt'), 'keep me\n');
    await writeFile(join(source, 'sub', 'nested.txt'), 'nested\n');
    await writeFile(join(source, 'skip.tmp'), 'skip me\n');
    const result = await repo.backupPaths({ paths: [source], tags: ['dataset:files'], exclude: ['*.tmp'] });
    assert.ok(result.tags.includes(COMPLETE_TAG));
    const target = join(dir, 'restored');
    await repo.restoreTo(result.snapshotId, target);
    assert.equal(await readFile(join(target, source, 'keep.txt'), 'utf8'), 'keep me\n');
    assert.equal(await readFile(join(target, source, 'sub', 'nested.txt'), 'utf8'), 'nested\n');
    assert.equal(existsSync(join(target, source, 'skip.tmp')), false);
  });

  test('a wrong password is named as such', async () => {
    await assert.rejects(open('template', 'not the password').snapshots(), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.equal(error.message, `wrong password for restic repository ${repoPath('template')}`);
      assert.equal(error.details?.reason, 'wrong-password');
      assert.ok(!JSON.stringify(error.toJSON()).includes('not the password'));
      return true;
    });
  });

  test('a repository that does not exist is named as such', async () => {
    await assert.rejects(open('nowhere').snapshots(), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.equal(error.message, `there is no restic repository at ${repoPath('nowhere')}`);
      assert.match(error.hint!, /restic init/);
      return true;
    });
  });
});
