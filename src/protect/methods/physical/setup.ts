/**
 * Turning WAL archiving on for a physical dataset, plan then apply: planArchiving compares
 * the server's settings with what pgBackRest needs (pure); applyArchiving writes them with
 * ALTER SYSTEM, reloads, and restarts only through a callback the caller confirmed. Then the
 * stanza is created in the repository and `check` proves a segment reaches it.
 */
import { OperationError, RefusedError } from '../../../errors.js';
import { actor } from '../../audit.js';
import { psqlRows, sqlLiteral } from '../../../stores/postgres/psql.js';
import { archiveCommand } from '../../../engines/pgbackrest/config.js';
import { observeCluster, type ObservedCluster } from '../../../engines/pgbackrest/cluster.js';
import type { PhysicalDataset } from './dataset.js';
import { pgbackrestInfo, runPgbackrest } from '../../../engines/pgbackrest/runner.js';

export interface ArchivingChange {
  name: 'archive_mode' | 'archive_command' | 'wal_level' | 'archive_timeout';
  from: string;
  to: string;
  /** archive_mode and wal_level take effect at a restart; the others at a reload. */
  takesEffect: 'restart' | 'reload';
}

export interface ArchivingPlan {
  dataset: string;
  changes: ArchivingChange[];
  restartRequired: boolean;
  upToDate: boolean;
}

export interface ArchivingInput {
  dataset: string;
  current: ObservedCluster['settings'];
  /** The archive_command that pushes into this dataset's stanza (config.ts archiveCommand). */
  archiveCommand: string;
  rpoSeconds: number | undefined;
}

/**
 * archive_timeout forces a segment switch on a server that writes little, so that WAL
 * reaches the repository within the RPO: half of it, but at least a minute (each switch
 * archives a whole segment, 16 MB before compression) and at most an hour.
 */
export function archiveTimeoutFor(rpoSeconds: number): number {
  return Math.min(3600, Math.max(60, Math.floor(rpoSeconds / 2)));
}

export function planArchiving(input: ArchivingInput): ArchivingPlan {
  const changes: ArchivingChange[] = [];
  const { current } = input;
  if (current.archive_mode !== 'on' && current.archive_mode !== 'always')
    changes.push({ name: 'archive_mode', from: current.archive_mode, to: 'on', takesEffect: 'restart' });
  if (current.wal_level !== 'replica' && current.wal_level !== 'logical')
    changes.push({ name: 'wal_level', from: current.wal_level, to: 'replica', takesEffect: 'restart' });
  if (current.archive_command !== input.archiveCommand)
    changes.push({
      name: 'archive_command',
      from: current.archive_command,
      to: input.archiveCommand,
      takesEffect: 'reload',
    });
  if (input.rpoSeconds !== undefined && input.rpoSeconds > 0) {
    const wanted = archiveTimeoutFor(input.rpoSeconds);
    const now = Number(current.archive_timeout);
    if (!(now > 0 && now <= wanted))
      changes.push({
        name: 'archive_timeout',
        from: current.archive_timeout,
        to: String(wanted),
        takesEffect: 'reload',
      });
  }
  return {
    dataset: input.dataset,
    changes,
    restartRequired: changes.some((c) => c.takesEffect === 'restart'),
    upToDate: changes.length === 0,
  };
}

/** The plan for this dataset's server as it runs now. */
export function planDatasetArchiving(dataset: PhysicalDataset): ArchivingPlan {
  if (!dataset.cluster) throw new OperationError(`the server of dataset '${dataset.id}' was not observed`);
  return planArchiving({
    dataset: dataset.id,
    current: dataset.cluster.settings,
    archiveCommand: archiveCommand(dataset.target.bin, dataset.config),
    rpoSeconds: dataset.rpoSeconds,
  });
}

export interface ApplyArchivingOptions {
  /** The caller asked the user (or was told to, `--yes`). Without it nothing changes. */
  confirmed: boolean;
  /**
   * Restarts the server when archive_mode or wal_level change. Lifeboat does not guess how
   * (pg_ctl, systemctl, Patroni); without it the settings wait for the next restart.
   */
  restart?: () => Promise<void>;
  actor?: string;
}

export interface ApplyArchivingResult {
  applied: ArchivingChange[];
  reloaded: boolean;
  restarted: boolean;
  /** Settings written but not in effect until the server restarts. */
  pendingRestart: string[];
}

export async function applyArchiving(
  dataset: PhysicalDataset,
  plan: ArchivingPlan,
  options: ApplyArchivingOptions,
): Promise<ApplyArchivingResult> {
  if (plan.upToDate) return { applied: [], reloaded: false, restarted: false, pendingRestart: [] };
  if (!options.confirmed) {
    throw new RefusedError(
      `archiving for '${dataset.id}' needs ${plan.changes.map((c) => `${c.name} = ${c.to}`).join(', ')}`,
      {
        hint: plan.restartRequired
          ? 'confirm the change; archive_mode/wal_level also need a restart of the server'
          : 'confirm the change (it takes effect at a reload, without a restart)',
        details: { changes: plan.changes },
      },
    );
  }
  for (const change of plan.changes) {
    await psqlRows(dataset.source, `ALTER SYSTEM SET ${change.name} = ${sqlLiteral(change.to)}`);
  }
  await psqlRows(dataset.source, 'SELECT pg_reload_conf()');
  let restarted = false;
  if (plan.restartRequired && options.restart) {
    await options.restart();
    restarted = true;
  }
  const now = await settledSettings(dataset, plan);
  const unapplied = plan.changes.filter((c) => c.takesEffect === 'reload' && !settingHolds(c, now.settings));
  if (unapplied.length > 0) {
    throw new OperationError(
      `${unapplied.map((c) => c.name).join(', ')} did not take effect after pg_reload_conf()`,
      {
        hint: 'a setting in postgresql.conf after the include of postgresql.auto.conf, or a command-line option, overrides it',
      },
    );
  }
  const pendingRestart = plan.changes
    .filter((c) => c.takesEffect === 'restart' && !settingHolds(c, now.settings))
    .map((c) => c.name);
  if (restarted && pendingRestart.length > 0) {
    throw new OperationError(
      `after the restart ${pendingRestart.join(', ')} still differ from what was set with ALTER SYSTEM`,
      {
        hint: 'a command-line option (-c archive_mode=...) or a later config file overrides postgresql.auto.conf',
      },
    );
  }
  dataset.cluster = now;
  await (
    await dataset.context.state()
  ).appendAudit({
    actor: options.actor ?? actor(),
    action: 'archiving.apply',
    target: `dataset:${dataset.id}`,
    outcome: 'ok',
    details: { changes: plan.changes.map((c) => ({ ...c })), restarted, pendingRestart },
  });
  return { applied: plan.changes, reloaded: true, restarted, pendingRestart };
}

/** A reload reaches the backends asynchronously: look again for a few seconds. */
async function settledSettings(dataset: PhysicalDataset, plan: ArchivingPlan): Promise<ObservedCluster> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const now = await observeCluster(dataset.source, dataset.cluster?.dataDir);
    const reloadHolds = plan.changes.every(
      (c) => c.takesEffect === 'restart' || settingHolds(c, now.settings),
    );
    if (reloadHolds || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function settingHolds(change: ArchivingChange, settings: ObservedCluster['settings']): boolean {
  if (change.name === 'archive_mode')
    return settings.archive_mode === 'on' || settings.archive_mode === 'always';
  if (change.name === 'wal_level')
    return settings.wal_level === 'replica' || settings.wal_level === 'logical';
  return settings[change.name] === change.to;
}

/** Creates the stanza in the repository unless it exists; true when it was created now. */
export async function ensureStanza(dataset: PhysicalDataset): Promise<boolean> {
  const info = await pgbackrestInfo(dataset.target);
  if (info.statusCode !== 1 && info.statusCode !== 3) return false;
  await runPgbackrest(dataset.target, 'stanza-create', [], { secrets: dataset.secrets, timeoutMs: 300_000 });
  return true;
}

/**
 * `pgbackrest check`: the configuration matches the server, and a forced WAL switch reaches
 * the repository within archive-timeout. Throws with pgBackRest's reason otherwise.
 */
export async function checkArchiving(dataset: PhysicalDataset): Promise<void> {
  await runPgbackrest(dataset.target, 'check', [], { secrets: dataset.secrets, timeoutMs: 300_000 });
}
