/**
 * Building a streaming standby of a dataset's PostgreSQL primary on this host
 * (pg_basebackup, a replication slot, started with pg_ctl), synchronous when the plan's
 * RPO of 0 asks for it, and the plan lines that name it. Audited as `standby.create`.
 */
import { effectiveRpo } from '../plan/graph.js';
import type { ProtectContext } from '../protect/context.js';
import { safeHost } from '../stores/postgres/sql.js';
import { datasetAuditor } from './audit.js';
import { datasetPrimary } from './failover/plan-topology.js';
import { createStandbyIn } from './failover/standby-host.js';
import { standbyIsSync, standbyLag } from './failover/standby.js';

export interface StandbyCreateOptions {
  /** The new, empty data directory of the standby, an absolute path on this host. */
  dataDir: string;
  /** Default: a free port. */
  port?: number;
  /** Default: replication.standby_name, else `standby1`. */
  name?: string;
  /** Default: synchronous when the plan asks for it (RPO 0, or replication.mode sync). */
  sync?: boolean;
  /**
   * Asked before a synchronous standby is set up, since from then on every commit on the
   * primary waits for it; throwing (a RefusedError) refuses with nothing changed.
   */
  confirmSync(question: SyncQuestion): Promise<void>;
  /** Who the audit entry names. Default: the OS user. */
  actor?: string;
}

export interface SyncQuestion {
  dataset: string;
  name: string;
  /** The primary's host and port. */
  primary: string;
  rpoSeconds: number | undefined;
}

/** The new standby, and the plan lines that name it. */
export interface StandbyCreated {
  dataset: string;
  name: string;
  /** Its URL without the password. */
  url: string;
  dataDir: string;
  port: number;
  sync: boolean;
  lag: { bytes: number; seconds: number; syncState: string };
  /** Files written outside the data directory (the primary's configuration), to review. */
  wrote: string[];
  /** YAML for the plan: the standby under datasets.ID.replication. */
  plan: string;
}

export interface StandbyCreateResult {
  standby: StandbyCreated;
  /** The primary's host and port. */
  primary: string;
  /** The URL had a password, left out of `standby.url` and the plan lines (env:STANDBY_URL). */
  passwordWithheld: boolean;
}

export async function createDatasetStandby(
  context: ProtectContext,
  dataset: string,
  options: StandbyCreateOptions,
): Promise<StandbyCreateResult> {
  const replication = context.dataset(dataset).replication ?? {};
  const rpo = effectiveRpo(context.plan, dataset);
  const sync = options.sync ?? standbyIsSync(replication, rpo);
  const name = options.name ?? replication.standby_name ?? 'standby1';
  const primary = datasetPrimary(context, dataset);
  if (sync) await options.confirmSync({ dataset, name, primary: safeHost(primary.url), rpoSeconds: rpo });
  const standby = await createStandbyIn(primary, {
    name,
    dataDir: options.dataDir,
    ...(options.port === undefined ? {} : { port: options.port }),
    sync,
  });
  const lag = await standbyLag(primary, standby.server);
  await datasetAuditor(
    context,
    'standby.create',
    dataset,
    options.actor,
  )('ok', {
    name,
    address: safeHost(standby.url),
    dataDir: standby.dataDir,
    sync,
  });
  const shown = new URL(standby.url);
  const secret = shown.password !== '';
  shown.password = '';
  const snippet = [
    `datasets:`,
    `  ${dataset}:`,
    `    replication:`,
    `      standby: ${secret ? 'env:STANDBY_URL' : shown.toString()}`,
    `      standby_name: ${name}`,
    `      standby_data_dir: ${standby.dataDir}`,
    `      mode: ${sync ? 'sync' : 'async'}`,
  ];
  return {
    standby: {
      dataset,
      name,
      url: shown.toString(),
      dataDir: standby.dataDir,
      port: standby.port,
      sync,
      lag: { bytes: lag.bytes, seconds: lag.seconds, syncState: lag.syncState },
      wrote: standby.wrote,
      plan: snippet.join('\n'),
    },
    primary: safeHost(primary.url),
    passwordWithheld: secret,
  };
}
