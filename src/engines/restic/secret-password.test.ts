/**
 * Any password works, and none can be read or guessed from what Lifeboat shows: real restic
 * repositories whose passwords are words of restic's own messages (`repository`, `wrong`,
 * `locked`) and a random one. Backups and restores work; a wrong password is still reported
 * as one; and what an error shows (message, hint, details, as printed, logged and stored)
 * is the same whichever password was tried, except for a random one, which never appears.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError, type LifeboatError } from '../../errors.js';
import { createRedactor } from './redact.js';
import { ResticRepository } from './repository.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-secret-password-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const open = (name: string, password: string) =>
  new ResticRepository({
    url: join(dir, name),
    password,
    lockDir: join(dir, 'locks'),
    cacheDir: join(dir, 'cache'),
  });

// A repository none of the passwords below opens.
before(async () => {
  await open('repo-other', randomBytes(18).toString('base64url')).init();
});

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

/** What an error shows anywhere: message, hint and details, as `--json` and the state store get it. */
function shown(error: LifeboatError): string {
  return JSON.stringify({ message: error.message, hint: error.hint, details: error.details });
}

async function failure(work: Promise<unknown>): Promise<LifeboatError> {
  const error = await work.then(
    () => assert.fail('succeeded'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof EnvironmentError, String(error));
  return error;
}

const random = randomBytes(18).toString('base64url');

for (const password of ['repository', 'wrong', 'locked', random]) {
  const label = password === random ? 'a random password' : `the password "${password}"`;
  describe(label, () => {
    const name = `repo-${password === random ? 'random' : password}`;

    test('backs up and restores', async () => {
      const repo = open(name, password);
      assert.deepEqual(await repo.init(), { created: true });
      const stored = await repo.backupStream({
        producer: { command: 'printf', args: ['%s', `rows of ${name}`] },
        filename: 'data.txt',
        tags: ['dataset:secret'],
      });
      const dump = await repo.dumpStream(stored.snapshotId, 'data.txt');
      assert.equal(await text(dump.stream), `rows of ${name}`);
      await dump.done;
      assert.equal((await repo.snapshots({ tags: ['dataset:secret'] })).length, 1);
    });

    test('tried on a repository it does not open: a wrong password, and nothing tells it apart', async () => {
      const tried = await failure(open('repo-other', password).snapshots());
      assert.equal(tried.details?.reason, 'wrong-password');
      assert.match(tried.message, /wrong password for restic repository/);
      const other = await failure(open('repo-other', randomBytes(18).toString('base64url')).snapshots());
      assert.equal(shown(tried), shown(other));
    });

    test('its own repository locked: reported as locked, the same as with any password', async () => {
      const repo = open(name, password);
      const holder = open(name, password);
      const held = await holdLock(join(dir, name), password);
      try {
        // check needs the repository to itself.
        const error = await failure(repo.check());
        assert.equal(error.details?.reason, 'locked', shown(error));
        assert.doesNotMatch(shown(error), /\*\*\*/);
        if (password === random) assert.doesNotMatch(shown(error), new RegExp(password));
      } finally {
        held.release();
        await holder.unlock();
      }
    });
  });
}

describe('the redactor', () => {
  const raw = [
    'unable to create lock in backend: repository is already locked exclusively by PID 7 on vm by root',
    'Fatal: wrong password or no key found',
    'Is there a repository at the following location?',
  ].join('\n');

  test("leaves restic's phrases as printed, whatever word of them the secret is", () => {
    for (const secret of ['repository', 'wrong', 'locked', 'password', 'lock', 'no key found'])
      assert.equal(createRedactor([secret])(raw), raw, secret);
  });

  test('masks a secret anywhere else, and one that merely starts like a phrase word', () => {
    const redact = createRedactor(['repository-2024', 'hunter2']);
    assert.equal(
      redact('open /srv/repository-2024/config: key hunter2 refused; repository is already locked'),
      'open /srv/***/config: key *** refused; repository is already locked',
    );
  });

  test("leaves a secret inside the text the caller shows anyway (the repository's URL)", () => {
    const redact = createRedactor(['backups'], { known: ['/srv/backups'] });
    assert.equal(redact('stat /srv/backups/config: no such file'), 'stat /srv/backups/config: no such file');
    assert.equal(redact('token backups'), 'token ***');
  });

  test('URL credentials are masked, known text or not', () => {
    assert.equal(
      createRedactor([])('rest:https://ann:s3cret@host/repository'),
      'rest:https://ann:***@host/repository',
    );
  });
});

/**
 * A lock held by a live restic: `backup --stdin` takes it before reading its input and keeps
 * it while the input stays open.
 */
async function holdLock(url: string, password: string): Promise<{ release(): void }> {
  const child = spawn('restic', ['-r', url, '--no-cache', 'backup', '--stdin'], {
    env: { ...process.env, RESTIC_PASSWORD: password },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  for (let i = 0; i < 500 && readdirSync(join(url, 'locks')).length === 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.ok(readdirSync(join(url, 'locks')).length > 0, 'restic backup took its lock');
  return {
    release() {
      child.kill('SIGKILL');
    },
  };
}
