import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError } from '../../errors.js';
import { COMPLETE_TAG, ResticRepository } from './repository.js';
import { repeatableBytes, sha256Of, sha256OfCommand } from './testing/helpers.js';
import { startS3Server, type S3TestServer } from './testing/s3.js';

describe('ResticRepository on S3 (s3rver over HTTPS)', () => {
  let s3: S3TestServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-restic-s3-test-'));
    s3 = await startS3Server({ buckets: ['lifeboat'] });
  });
  after(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const open = (options: { cacert?: string } = {}) =>
    new ResticRepository({
      url: s3.repositoryUrl('lifeboat', 'repo'),
      password: 'correct horse battery staple',
      env: s3.env,
      ...options,
      lockDir: join(dir, 'locks'),
      cacheDir: join(dir, 'cache'),
    });

  test('a stream backed up to S3 comes back byte for byte', async () => {
    const repo = open({ cacert: s3.cacert });
    assert.deepEqual(await repo.init(), { created: true });
    assert.deepEqual(await repo.init(), { created: false });
    const producer = repeatableBytes(5 * 1024 * 1024, '00112233445566778899aabbccddeeff');
    const expected = await sha256OfCommand(producer.command, producer.args);
    const result = await repo.backupStream({ producer, filename: 'db.dump', tags: ['dataset:db'] });
    assert.ok(result.tags.includes(COMPLETE_TAG));
    const dump = await repo.dumpStream(result.snapshotId, 'db.dump');
    assert.equal(await sha256Of(dump.stream), expected);
    await dump.done;
  });

  test('without the CA certificate, the TLS failure is named with what to do', async () => {
    await assert.rejects(open().snapshots(), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(
        error.message,
        /^cannot reach restic repository s3:https:\/\/127\.0\.0\.1:\d+\/lifeboat\/repo: .*x509/,
      );
      assert.match(error.hint!, /cacert/);
      // The S3 credentials never show, not even in the details.
      assert.ok(!JSON.stringify(error.toJSON()).includes('S3RVER'));
      return true;
    });
  });
});
