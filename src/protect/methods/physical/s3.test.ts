import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startS3Server, type S3TestServer } from '../../../engines/restic/testing/s3.js';
import { osUser, runningAsRoot } from '../../../system/instance.js';
import { backupPhysical } from './backup.js';
import { createRestorePoint } from './restore-point.js';
import { restorePhysical } from './restore.js';
import { restoredQuery, stopRestoredCluster } from '../../../engines/pgbackrest/restored-cluster.js';
import { startSandboxPrimary, type SandboxPrimary } from './sandbox-primary.js';

const user = runningAsRoot() ? osUser('postgres') : undefined;

describe('pgBackRest on S3 (s3rver over TLS)', { timeout: 110_000 }, () => {
  let s3: S3TestServer;
  let primary: SandboxPrimary;

  before(async () => {
    s3 = await startS3Server({ buckets: ['pg'] });
    primary = await startSandboxPrimary({
      datasets: ['db'],
      env: { PG_S3_KEY: s3.env.AWS_ACCESS_KEY_ID ?? '', PG_S3_SECRET: s3.env.AWS_SECRET_ACCESS_KEY ?? '' },
      // s3rver's certificate is self-signed, and its CA file is not readable by postgres.
      repository: [
        '    type: pgbackrest',
        `    url: s3:${s3.endpoint}/pg/lifeboat/db`,
        '    verify_tls: false',
        '    env: { AWS_ACCESS_KEY_ID: env:PG_S3_KEY, AWS_SECRET_ACCESS_KEY: env:PG_S3_SECRET }',
      ].join('\n'),
    });
  });

  after(async () => {
    await primary?.cleanup();
    await s3?.stop();
  });

  test('backup, archive and point-in-time restore through S3; the keys stay out of the logs', async () => {
    await primary.pg.psqlScript("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('in-backup');");
    const made = await backupPhysical(primary.context, 'db', {
      archiving: { confirmed: true, restart: primary.restart },
    });
    assert.equal(made.type, 'full');
    await primary.pg.psqlScript("INSERT INTO notes VALUES ('archived');");
    await createRestorePoint(primary.context, 'db', 'after-archived');
    await primary.pg.psqlScript("INSERT INTO notes VALUES ('too-late'); SELECT pg_switch_wal();");
    const toDataDir = join(primary.workDir, 'copy', 'data');
    const restored = await restorePhysical(primary.context, {
      dataset: 'db',
      restorePoint: 'after-archived',
      toDataDir,
      timeoutSeconds: 90,
    });
    const rows = await restoredQuery({ ...restored, user }, 'SELECT body FROM notes ORDER BY body');
    assert.deepEqual(
      rows.map((r) => r[0]),
      ['archived', 'in-backup'],
    );
    await stopRestoredCluster({ dataDir: toDataDir, user, binDir: primary.pg.binDir });

    const configDir = join(primary.workDir, '.lifeboat', 'pgbackrest', 'db');
    const config = join(configDir, 'pgbackrest.conf');
    assert.equal(statSync(config).mode & 0o777, 0o600);
    assert.match(readFileSync(config, 'utf8'), /^repo1-s3-key-secret=S3RVER$/m);
    assert.match(readFileSync(config, 'utf8'), /^repo1-storage-verify-tls=n$/m);
    for (const log of readdirSync(join(configDir, 'log'))) {
      assert.doesNotMatch(readFileSync(join(configDir, 'log', log), 'utf8'), /=S3RVER/, log);
    }
  });
});
