/** Whether a repository exists, asked without its key, locally and on S3 (s3rver over HTTPS). */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resticRepositoryExists } from './existence.js';
import { ResticRepository } from './repository.js';
import { startS3Server, type S3TestServer } from './testing/s3.js';

describe('resticRepositoryExists', () => {
  let s3: S3TestServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-restic-exists-'));
    s3 = await startS3Server({ buckets: ['lifeboat'] });
  });
  after(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a local repository exists once its config does', async () => {
    const url = join(dir, 'local');
    assert.equal(await resticRepositoryExists({ url, passwordFile: join(dir, 'nokey') }, process.env), false);
    await new ResticRepository({ url, password: 'p', lockDir: join(dir, 'locks') }).init();
    assert.equal(await resticRepositoryExists({ url, passwordFile: join(dir, 'nokey') }, process.env), true);
  });

  test('a remote one is asked with a throwaway password: "wrong password" means it exists', async () => {
    const access = { url: s3.repositoryUrl('lifeboat', 'remote'), env: s3.env, cacert: s3.cacert };
    const keyless = { ...access, passwordFile: join(dir, 'lost.key') };
    assert.equal(await resticRepositoryExists(keyless, process.env), false);
    await new ResticRepository({
      ...access,
      password: 'the lost key',
      lockDir: join(dir, 'locks'),
      cacheDir: join(dir, 'cache'),
    }).init();
    assert.equal(await resticRepositoryExists(keyless, process.env), true);
  });
});
