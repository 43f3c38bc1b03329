/**
 * `lifeboat verify` for a physical dataset: `pgbackrest verify` reads every file of the
 * repository back against its checksum, then the newest backup and the archived WAL after it
 * are restored into a new cluster on a free port (the same path as `lifeboat restore`), the
 * plan's checks run against it, and the copy is stopped and removed. Only both together
 * prove the recovery point: a repository can be intact and still not start.
 */
import { dirname } from 'node:path';
import { coerceError, LifeboatError } from '../../../errors.js';
import { describeError } from '../../../errors.js';
import { runChecks } from '../../checks.js';
import type { ProtectContext } from '../../context.js';
import { findRecoveryPoint } from '../../recovery-points.js';
import { removeDir } from '../../../system/instance.js';
import { findPostgresBinDir } from '../../../stores/postgres/sandbox.js';
import { notVerified, type VerifyEvent, type VerifyResult } from '../../verify-result.js';
import { verifyPhysical } from './backup.js';
import { preparePhysicalDataset } from './dataset.js';
import { restorePhysical, type RestorePhysicalResult } from './restore.js';
import { stopRestoredCluster } from '../../../engines/pgbackrest/restored-cluster.js';
import { parsePgUrl, psqlRows } from '../../../stores/postgres/psql.js';
import { asPostgres } from '../../../stores/index.js';

export async function verifyPhysicalDataset(
  context: ProtectContext,
  id: string,
  emit: (event: VerifyEvent) => void,
  options: { actor?: string } = {},
): Promise<{ result: VerifyResult; recordId: string | null }> {
  // pgbackrest verify's read-back goes where the restic datasets report restic check.
  const base = notVerified(id, context.repositoryOf(id));
  let recordId: string | null = null;
  try {
    const point = await findRecoveryPoint(context, id, { includeFailedVerifications: true });
    recordId = point.recordId;
    Object.assign(base, {
      snapshotId: point.snapshotId,
      backupStartedAt: point.startedAt,
      repository: point.repository,
    });
  } catch (error) {
    return { result: { ...base, error: message(error) }, recordId };
  }
  emit({ type: 'dataset-start', dataset: id, snapshotId: base.snapshotId });

  const checkStarted = Date.now();
  const repository = await verifyPhysical(context, id, options).catch((error: unknown) => ({
    ok: false,
    problems: [message(error)],
  }));
  emit({
    type: 'restic-check',
    repository: base.repository,
    ok: repository.ok,
    seconds: (Date.now() - checkStarted) / 1000,
  });
  const repositoryCheck = {
    ok: repository.ok,
    readDataSubset: '100%',
    ...(repository.problems.length > 0 ? { output: repository.problems.join('; ') } : {}),
  };

  let restored: RestorePhysicalResult | undefined;
  try {
    restored = await restorePhysical(context, {
      dataset: id,
      timeoutSeconds: 3600,
      ...(options.actor ? { actor: options.actor } : {}),
    });
    const url = restoredUrl(context, id, restored.port);
    // A physical copy holds every database of the cluster under its own name.
    const names = (
      await psqlRows(parsePgUrl(url), 'SELECT datname FROM pg_database WHERE NOT datistemplate')
    ).map((row) => row[0]!);
    const checks = await runChecks(context.dataset(id), {
      type: 'postgres',
      url,
      databases: Object.fromEntries(names.map((name) => [name, name])),
      defaultDatabase: decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres',
      cwd: context.planDir,
    });
    const problems = [
      ...(repository.ok ? [] : [`pgbackrest verify: ${repositoryCheck.output ?? 'failed'}`]),
      ...checks.filter((c) => !c.ok).map((c) => `check ${c.name}: ${c.error ?? `got ${c.actual}`}`),
    ];
    return {
      result: {
        ...base,
        ok: problems.length === 0,
        restoreSeconds: restored.seconds,
        checks,
        resticCheck: repositoryCheck,
        ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
      },
      recordId,
    };
  } catch (error) {
    const problems = [
      `restore of the newest backup failed: ${message(error)}`,
      ...(repository.ok ? [] : [`pgbackrest verify: ${repositoryCheck.output ?? 'failed'}`]),
    ];
    return { result: { ...base, resticCheck: repositoryCheck, error: problems.join('; ') }, recordId };
  } finally {
    if (restored) await discard(context, id, restored);
  }
}

/** The source's own credentials, pointed at the copy: the copy has the same roles and passwords. */
function restoredUrl(context: ProtectContext, id: string, port: number): string {
  const source = asPostgres(context.resolvedSource(id));
  const url = new URL(source?.url ?? 'postgres://127.0.0.1/');
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

async function discard(context: ProtectContext, id: string, restored: RestorePhysicalResult): Promise<void> {
  // The copy runs as the OS user the restore chose for it: the dataset's.
  const { target } = await preparePhysicalDataset(context, id, { requireServer: false });
  await stopRestoredCluster(
    { dataDir: restored.dataDir, user: target.user, binDir: findPostgresBinDir() },
    'immediate',
  ).catch(() => undefined);
  // The default restore directory is `<home>/restores/<dataset>-<stamp>/data`: remove the stamp.
  removeDir(dirname(restored.dataDir));
}

function message(error: unknown): string {
  const e = coerceError(error);
  return e instanceof LifeboatError ? describeError(e) : e.message;
}
