/**
 * From a plan's dataset to what failover acts on: the primary (source.url, source.data_dir),
 * its standby (replication.standby, standby_name, standby_data_dir), the router its clients
 * go through (replication.traffic, a key of `traffic`), the command that fences the primary
 * from outside its host (replication.fence_command), and the RPO the plan promises. Each
 * thing the plan lacks or gets wrong is an error that names the field and what to write.
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { EnvironmentError, UsageError } from '../../errors.js';
import { parseDuration } from '../../plan/duration.js';
import { effectiveRpo } from '../../plan/graph.js';
import { resolveSecret } from '../../plan/secret.js';
import type { Plan } from '../../plan/schema.js';
import type { ProtectContext } from '../../protect/context.js';
import type { FailoverOptions, FenceCommand } from './failover-plan.js';
import type { WatchOptions } from './monitor.js';
import type { FailoverTopology } from './observe.js';
import { commandRouter, type Router } from './route.js';
import { haproxyRouter } from './route-haproxy.js';
import { pgbouncerRouter } from './route-pgbouncer.js';
import { managedFromHost } from './server-host.js';
import type { ManagedServer } from './server.js';
import { query, safeHost } from '../../stores/postgres/sql.js';
import { standbyIsSync } from './standby.js';
import { asPostgres } from '../../stores/index.js';

type TrafficSwitch = NonNullable<Plan['traffic']>[string];

export interface DatasetFailover {
  dataset: string;
  topology: FailoverTopology;
  /**
   * What the plan tells planFailover: the RPO the standby's lag is checked against (an RPO of
   * 0 needs a synchronous standby), and the fence command, which every caller must pass on:
   * a failover that forgot it would promote with the old primary still running.
   */
  limits: Pick<FailoverOptions, 'rpoBytes' | 'rpoSeconds' | 'fence'>;
  /** The dataset's RPO in seconds (its own, else `objectives.rpo`); undefined: none stated. */
  rpoSeconds: number | undefined;
  /** The plan wants a synchronous standby: replication.mode, else an RPO of 0. */
  sync: boolean;
  /** The `traffic` key that moves clients, if any. */
  traffic: string | undefined;
  /** For automatic failover: restart a crashed primary where it is first. */
  restartInPlace: boolean;
  /** For automatic failover: the detector, from replication.detect_after. */
  watch: Required<Pick<WatchOptions, 'intervalMs' | 'timeoutMs' | 'failures' | 'deadlineMs'>>;
}

/** What needs no I/O: the plan's fields, checked and with secrets resolved. */
export interface FailoverSpec extends Omit<DatasetFailover, 'topology'> {
  primary: { url: string; dataDir: string | undefined };
  standby: { url: string; name: string | undefined; dataDir: string | undefined };
  router: Router | null;
}

/** The Patroni REST API url of a dataset whose cluster Patroni manages, else undefined. */
export function patroniUrl(context: ProtectContext, id: string): string | undefined {
  const source = asPostgres(context.dataset(id).source);
  return source?.patroni ? resolveSecret(source.patroni, context.planDir, context.env) : undefined;
}

/** The primary's side only, for `standby create`: a PostgreSQL dataset's primary. */
export function datasetPrimary(context: ProtectContext, id: string): ManagedServer {
  const source = postgresSource(context, id);
  return managedFromHost({
    name: 'primary',
    url: source.url,
    ...(source.data_dir ? { dataDir: resolve(context.planDir, source.data_dir) } : {}),
    dataDirField: `datasets.${id}.source.data_dir`,
  });
}

export function failoverSpec(context: ProtectContext, id: string): FailoverSpec {
  const source = postgresSource(context, id);
  const dataset = context.dataset(id);
  const replication = dataset.replication;
  if (!replication?.standby)
    throw new EnvironmentError(`dataset '${id}' has no standby to fail over to`, {
      hint: `Build one (lifeboat standby create ${id} --to DIR), then name it in the plan: datasets.${id}.replication.standby: postgres://... (or env:NAME).`,
    });
  const standbyUrl = resolveSecret(replication.standby, context.planDir, context.env);
  if (!/^postgres(ql)?:\/\//.test(standbyUrl))
    throw new UsageError(
      `datasets.${id}.replication.standby is "${replication.standby}", a name: failover needs the standby's connection URL`,
      {
        hint: 'Write its libpq URI there, e.g. postgres://postgres@standby-host:5432/postgres, or env:STANDBY_URL.',
      },
    );
  const rpoSeconds = effectiveRpo(context.plan, id);
  const fence = fenceCommand(context, id);
  const detectMs = (parseDuration(replication.detect_after ?? '3s') ?? 3) * 1000;
  const intervalMs = Math.min(5000, Math.max(100, Math.round(detectMs / 3)));
  return {
    dataset: id,
    primary: {
      url: source.url,
      dataDir: source.data_dir ? resolve(context.planDir, source.data_dir) : undefined,
    },
    standby: {
      url: standbyUrl,
      name: replication.standby_name,
      dataDir: replication.standby_data_dir
        ? resolve(context.planDir, replication.standby_data_dir)
        : undefined,
    },
    router: replication.traffic ? routerFor(context, id, replication.traffic, source.url) : null,
    limits: {
      ...(rpoSeconds === undefined ? {} : rpoSeconds === 0 ? { rpoBytes: 0 } : { rpoSeconds }),
      ...(fence ? { fence } : {}),
    },
    rpoSeconds,
    sync: standbyIsSync(replication, rpoSeconds),
    traffic: replication.traffic,
    restartInPlace: replication.restart_in_place ?? false,
    watch: { intervalMs, timeoutMs: intervalMs, failures: 3, deadlineMs: detectMs },
  };
}

/** The dataset's failover topology: the spec, then a look at the servers to name the standby and check the data directories. */
export async function datasetFailover(context: ProtectContext, id: string): Promise<DatasetFailover> {
  const spec = failoverSpec(context, id);
  const { primary: p, standby: s } = spec;
  await Promise.all([
    checkDataDir(p.url, p.dataDir, `datasets.${id}.source.data_dir`),
    checkDataDir(s.url, s.dataDir, `datasets.${id}.replication.standby_data_dir`),
  ]);
  const primary = managedFromHost({
    name: 'primary',
    url: p.url,
    ...(p.dataDir ? { dataDir: p.dataDir } : {}),
    dataDirField: `datasets.${id}.source.data_dir`,
  });
  const standby = managedFromHost({
    name: s.name ?? (await standbyName(id, p.url, s.url)),
    url: s.url,
    ...(s.dataDir ? { dataDir: s.dataDir } : {}),
    dataDirField: `datasets.${id}.replication.standby_data_dir`,
  });
  const { primary: _p, standby: _s, router, ...rest } = spec;
  return { ...rest, topology: { primary, standbys: [standby], router } };
}

/** The plan's fence command, its secret resolved now: a missing variable is found before any change. */
function fenceCommand(context: ProtectContext, id: string): FenceCommand | undefined {
  const replication = context.dataset(id).replication;
  const field = `datasets.${id}.replication.fence_command`;
  if (replication?.fence_timeout !== undefined && replication.fence_command === undefined)
    throw new UsageError(`datasets.${id}.replication.fence_timeout is set, but there is no ${field}`, {
      hint: `Add the command that stops the old primary (${field}), or remove fence_timeout.`,
    });
  if (replication?.fence_command === undefined) return undefined;
  const timeout = parseDuration(replication.fence_timeout ?? '30s') ?? 30;
  if (timeout <= 0)
    throw new UsageError(`datasets.${id}.replication.fence_timeout must be more than 0`, {
      hint: 'Give the fence command time to confirm the primary is down, e.g. fence_timeout: 30s.',
    });
  return {
    command: resolveSecret(replication.fence_command, context.planDir, context.env),
    timeoutMs: Math.round(timeout * 1000),
    field,
    dataset: id,
  };
}

function postgresSource(context: ProtectContext, id: string) {
  const declared = context.dataset(id).source;
  if (asPostgres(declared) === undefined)
    throw new UsageError(
      `dataset '${id}' is ${declared ? `a ${declared.type} source` : 'not backed by a source'}, not PostgreSQL: failover and standbys are PostgreSQL's`,
      { hint: `Recover it with lifeboat restore ${id} instead.` },
    );
  const source = asPostgres(context.resolvedSource(id));
  if (source === undefined) throw new UsageError(`dataset '${id}' is not PostgreSQL`);
  return source;
}

function routerFor(context: ProtectContext, id: string, key: string, primaryUrl: string): Router {
  const field = `datasets.${id}.replication.traffic`;
  const switches = context.plan.traffic ?? {};
  const config = switches[key];
  if (!config)
    throw new UsageError(`${field} names the traffic switch '${key}', which the plan does not declare`, {
      hint: Object.keys(switches).length
        ? `Declared under traffic: ${Object.keys(switches).join(', ')}.`
        : 'Declare it under traffic: (type pgbouncer, haproxy or command).',
    });
  const at = `traffic.${key}`;
  const need = (value: string | undefined, what: string): string => {
    if (!value)
      throw new UsageError(`${at}.${what} is required for a ${config.type} switch used by failover`);
    return value;
  };
  const unsupported = (): Router => {
    throw new UsageError(
      `${at} is of type ${config.type}: failover moves PostgreSQL clients with a pgbouncer, haproxy or command switch`,
      { hint: `Point ${field} at such a switch, or leave it out and repoint clients by other means.` },
    );
  };
  // One entry per switch type the plan accepts: a new type does not compile until it is decided here.
  const routers: Record<TrafficSwitch['type'], () => Router> = {
    pgbouncer: () => pgbouncerFor(context, at, config, need(config.config, 'config'), primaryUrl),
    haproxy: () =>
      haproxyRouter({
        socketPath: resolve(context.planDir, need(config.config, 'config')),
        backend: need(config.backend, 'backend'),
        server: config.server ?? 'primary',
      }),
    command: () =>
      commandRouter({
        switchCommand: need(config.command, 'command'),
        ...(config.block ? { blockCommand: config.block } : {}),
      }),
    http: unsupported,
    weighted: unsupported,
  };
  return routers[config.type]();
}

function pgbouncerFor(
  context: ProtectContext,
  at: string,
  config: TrafficSwitch,
  ini: string,
  primaryUrl: string,
): Router {
  const iniPath = resolve(context.planDir, ini);
  if (!existsSync(iniPath))
    throw new EnvironmentError(`${at}.config: ${iniPath} does not exist`, {
      hint: 'Give the path of the pgbouncer.ini that pgbouncer reads; Lifeboat rewrites its [databases] entry on failover.',
    });
  const admin = new URL(
    config.admin_url
      ? resolveSecret(config.admin_url, context.planDir, context.env)
      : 'postgres://postgres@127.0.0.1:6432/pgbouncer',
  );
  const serverDatabase = decodeURIComponent(new URL(primaryUrl).pathname.slice(1)) || 'postgres';
  return pgbouncerRouter({
    adminHost: admin.hostname,
    adminPort: Number(admin.port || 6432),
    adminUser: decodeURIComponent(admin.username || 'postgres'),
    ...(admin.password ? { adminPassword: decodeURIComponent(admin.password) } : {}),
    iniPath,
    database: config.database ?? serverDatabase,
    serverDatabase,
  });
}

/**
 * The standby's application_name: what the primary's pg_stat_replication calls it. Read from
 * its primary_conninfo, else the primary's only walsender; a standby that cannot be asked
 * keeps a placeholder name, and observing it reports it unreachable.
 */
async function standbyName(id: string, primaryUrl: string, standbyUrl: string): Promise<string> {
  let unreachable = false;
  const conninfo = await query(standbyUrl, 'SHOW primary_conninfo', { timeoutMs: 3000 }).then(
    (rows) => String(rows[0]?.primary_conninfo ?? ''),
    (error: unknown) => {
      unreachable = error instanceof EnvironmentError;
      return '';
    },
  );
  const named = conninfo.match(/application_name=('?)([A-Za-z0-9_]+)\1/)?.[2];
  if (named) return named;
  if (unreachable) return 'standby';
  const senders = await query(primaryUrl, 'SELECT application_name FROM pg_stat_replication', {
    timeoutMs: 3000,
  }).catch(() => []);
  const only = senders.length === 1 ? String(senders[0]!.application_name) : '';
  if (/^[A-Za-z0-9_]+$/.test(only)) return only;
  throw new UsageError(`cannot tell which of ${safeHost(primaryUrl)}'s standbys is ${safeHost(standbyUrl)}`, {
    hint: `Set datasets.${id}.replication.standby_name to the application_name in the standby's primary_conninfo.`,
  });
}

/** A data directory that belongs to another server would let Lifeboat stop the wrong one. */
async function checkDataDir(url: string, dataDir: string | undefined, field: string): Promise<void> {
  if (dataDir === undefined) return;
  const rows = await query(url, 'SHOW data_directory', { timeoutMs: 3000 }).catch(() => undefined);
  const actual = rows?.[0]?.data_directory;
  if (typeof actual !== 'string') return;
  if (realpathOr(actual) !== realpathOr(dataDir))
    throw new UsageError(`${field} is ${dataDir}, but the server at ${safeHost(url)} runs from ${actual}`, {
      hint: 'Fix the path in the plan: Lifeboat stops and starts the server through it.',
    });
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
