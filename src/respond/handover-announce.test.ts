import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RefusedError } from '../errors.js';
import {
  announceHandover,
  announcementFile,
  lookAtAnnouncement,
  type HandoverRecord,
} from './handover-announce.js';

const home = mkdtempSync(join(tmpdir(), 'lifeboat-announce-'));
after(() => rmSync(home, { recursive: true, force: true }));

const input = (dataset: string) => ({
  homeDir: home,
  dataset,
  command: 'lifeboat switchover',
  mode: 'switchover' as const,
  from: { name: 'primary', url: 'postgres://postgres@127.0.0.1:5432/postgres' },
  budgetMs: 60_000,
});

describe('handover announcement', () => {
  test('one handover of a dataset at a time; the next replaces the ended record and sees it', () => {
    const first = announceHandover(input('users'));
    assert.equal(statSync(announcementFile(home, 'users')).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'handovers')).mode & 0o777, 0o700);
    assert.equal(lookAtAnnouncement(home, 'users').kind, 'running');
    assert.throws(() => announceHandover(input('users')), RefusedError);
    announceHandover(input('orders')).end('unchanged');
    first.end('done', { newPrimary: { name: 'standby1', url: 'postgres://127.0.0.1:5433/postgres' } });
    const ended = lookAtAnnouncement(home, 'users');
    assert.equal(ended.kind, 'ended');
    const second = announceHandover(input('users'));
    assert.equal(second.previous?.token, first.record.token);
    assert.equal(second.previous?.newPrimary?.name, 'standby1');
    second.end('failed', { error: 'x' });
  });

  test('a record whose process died, or that overran its deadline, is stale and replaced', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const running = announceHandover(input('dead'));
    const file = announcementFile(home, 'dead');
    const record = JSON.parse(readFileSync(file, 'utf8')) as HandoverRecord;
    writeFileSync(file, JSON.stringify({ ...record, pid: Number(dead.stdout.toString()) }));
    const look = lookAtAnnouncement(home, 'dead');
    assert.equal(look.kind, 'stale');
    assert.match(look.kind === 'stale' ? look.why : '', /no longer runs/);
    const taken = announceHandover(input('dead'));
    assert.equal(taken.previous?.token, running.record.token);

    writeFileSync(
      file,
      JSON.stringify({ ...taken.record, deadline: new Date(Date.now() - 1000).toISOString() }),
    );
    const overdue = lookAtAnnouncement(home, 'dead');
    assert.match(overdue.kind === 'stale' ? overdue.why : '', /deadline/);
  });
});
