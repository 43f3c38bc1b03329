/** Rules that compare each dataset's RPO with the protection the plan gives it. */
import { formatDuration, parseCadence, parseDuration } from '../duration.js';
import { effectiveRpo } from '../graph.js';
import { entries, type Rule, type RuleHit } from './rule.js';
import type { Dataset } from '../schema.js';

/** Physical backups with WAL archiving lose at most the archive timeout (~1 minute). */
const WAL_ARCHIVE_EXPOSURE_SECONDS = 60;

function backupExposure(dataset: Dataset): number | undefined {
  const backup = dataset.backup;
  if (!backup) return undefined;
  if (backup.method === 'physical' && backup.wal_archive !== false) return WAL_ARCHIVE_EXPOSURE_SECONDS;
  return parseCadence(backup.every);
}

function replicationExposure(dataset: Dataset): number | undefined {
  const replication = dataset.replication;
  if (!replication) return undefined;
  if (replication.mode === 'sync') return 0;
  return replication.max_lag === undefined ? undefined : parseDuration(replication.max_lag);
}

const isDocumentedOnly = (dataset: Dataset) => dataset.source?.type === 'external';

export const rpoUnprotected: Rule = {
  id: 'rpo-unprotected',
  severity: 'error',
  summary: 'A dataset with an RPO but neither backups nor replication: any loss is total.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, dataset] of entries(plan.datasets)) {
      const rpo = effectiveRpo(plan, id);
      if (rpo === undefined || dataset.backup || dataset.replication) continue;
      hits.push({
        path: ['datasets', id],
        atKey: true,
        message: `${id} has an RPO of ${formatDuration(rpo)} but no backup and no replication`,
        hint: 'add `backup: { every: ... }` with a cadence shorter than the RPO',
      });
    }
    return hits;
  },
};

export const rpoCadence: Rule = {
  id: 'rpo-cadence',
  severity: 'error',
  summary: 'Backups taken less often than the RPO cannot meet it.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, dataset] of entries(plan.datasets)) {
      const rpo = effectiveRpo(plan, id);
      const exposure = backupExposure(dataset);
      if (rpo === undefined || exposure === undefined || exposure <= rpo) continue;
      const replicated = replicationExposure(dataset);
      const also =
        replicated !== undefined && replicated <= rpo
          ? ` (replication covers the loss of a host, not a bad write or a deletion, which only a backup undoes)`
          : '';
      hits.push({
        path: ['datasets', id, 'backup', 'every'],
        message: `backups every ${dataset.backup!.every} cannot meet the RPO of ${id}, ${formatDuration(rpo)}${also}`,
        hint: `back up at least every ${formatDuration(rpo / 2)} (leaving room for a failed run), or use physical backups with WAL archiving`,
      });
    }
    return hits;
  },
};

export const rpoNoMargin: Rule = {
  id: 'rpo-no-margin',
  severity: 'warning',
  summary: 'A backup cadence equal to the RPO is exceeded by the backup time itself or by one failed run.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, dataset] of entries(plan.datasets)) {
      const rpo = effectiveRpo(plan, id);
      const exposure = backupExposure(dataset);
      if (rpo === undefined || exposure === undefined || exposure !== rpo || rpo === 0) continue;
      if ((replicationExposure(dataset) ?? Infinity) < rpo) continue;
      hits.push({
        path: ['datasets', id, 'backup', 'every'],
        message: `backups every ${dataset.backup!.every} leave no margin for the RPO of ${id}, ${formatDuration(rpo)}: one late or failed run breaches it`,
        hint: `back up every ${formatDuration(rpo / 2)}`,
      });
    }
    return hits;
  },
};

export const replicationLag: Rule = {
  id: 'rpo-replication-lag',
  severity: 'error',
  summary: 'A replica allowed to lag more than the RPO loses more than the RPO on failover.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, dataset] of entries(plan.datasets)) {
      const rpo = effectiveRpo(plan, id);
      const lag = replicationExposure(dataset);
      if (rpo === undefined || lag === undefined || lag <= rpo) continue;
      hits.push({
        path: ['datasets', id, 'replication', 'max_lag'],
        message: `replication may lag ${dataset.replication!.max_lag}, more than the RPO of ${id}, ${formatDuration(rpo)}`,
        hint: rpo === 0 ? 'an RPO of 0 needs `mode: sync`' : `lower max_lag below ${formatDuration(rpo)}`,
      });
    }
    return hits;
  },
};

export const replicationOnly: Rule = {
  id: 'replication-only',
  severity: 'warning',
  summary: 'Replication copies deletions and corruption at once; without a backup they cannot be undone.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, dataset] of entries(plan.datasets)) {
      if (!dataset.replication || dataset.backup || dataset.replication.versioned) continue;
      hits.push({
        path: ['datasets', id, 'replication'],
        message: `${id} is only replicated${dataset.replication.managed_by ? ` (by ${dataset.replication.managed_by})` : ''}: a bad write or a deletion reaches every copy and no backup can undo it`,
        hint: 'add `backup:` (physical with WAL archiving gives point-in-time recovery)',
      });
    }
    return hits;
  },
};

export const datasetNotVerified: Rule = {
  id: 'dataset-not-verified',
  severity: 'warning',
  summary: 'A backup that is never restored is a hope, not a recovery point.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    const drilled = new Set(
      Object.values(plan.drills ?? {})
        .filter((d) => ['restore', 'pitr', 'full-dr'].includes(d.kind))
        .flatMap((d) => d.datasets ?? []),
    );
    for (const [id, dataset] of entries(plan.datasets)) {
      if (!dataset.backup || dataset.verify || drilled.has(id) || isDocumentedOnly(dataset)) continue;
      hits.push({
        path: ['datasets', id, 'backup'],
        message: `${id} is backed up but never verified: no \`verify\` and no restore drill names it`,
        hint:
          'add `verify: { every: daily, checks: [...] }` or a restore drill with `datasets: [' + id + ']`',
      });
    }
    return hits;
  },
};

export const backupWithoutSource: Rule = {
  id: 'backup-without-source',
  severity: 'warning',
  summary: 'A backup the plan promises but cannot run: it does not say where the data lives.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, dataset] of entries(plan.datasets)) {
      if (!dataset.backup || dataset.source) continue;
      if (parseCadence(dataset.backup.every) === 0) continue; // continuous: a stream, not a backup job
      hits.push({
        path: ['datasets', id, 'backup'],
        message: `${id} is to be backed up ${dataset.backup.every} but has no \`source\`, so nothing can take the backup`,
        hint: 'add `source:` (postgres, mysql, redis, files, or a command whose output is the backup)',
      });
    }
    return hits;
  },
};

export const drillWithoutBackup: Rule = {
  id: 'drill-without-backup',
  severity: 'warning',
  summary: 'A restore drill of a dataset that has no backup to restore.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, drill] of entries(plan.drills)) {
      if (!['restore', 'pitr'].includes(drill.kind)) continue;
      (drill.datasets ?? []).forEach((dataset, i) => {
        const target = plan.datasets?.[dataset];
        if (!target || target.backup) return;
        hits.push({
          path: ['drills', id, 'datasets', i],
          message: `drill ${id} restores ${dataset}, which has no backup`,
          hint: `add \`backup:\` to ${dataset}`,
        });
      });
    }
    return hits;
  },
};
