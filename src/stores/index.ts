/**
 * The registry of data store kinds: the plan's `source.type` → its driver. Adding a kind
 * means one folder beside this file, one line in `registry` and its entry in the plan's
 * schema; the use cases ask the driver, never the kind's name.
 */
import { UsageError } from '../errors.js';
import { commandStore } from './command/driver.js';
import { filesStore } from './files/driver.js';
import { mysqlStore } from './mysql/driver.js';
import { postgresStore } from './postgres/driver.js';
import { redisStore } from './redis/driver.js';
import type { KindConfig, Source, SourceContext, Store, StoreKind, UnprotectedKind } from './store.js';
import type { TargetSpec } from './target.js';

export type {
  BackupUnit,
  Capture,
  KindConfig,
  PathsUnit,
  PlannedUnit,
  Producer,
  RestoreIO,
  RestoreTarget,
  Source,
  Staging,
  SourceContext,
  Store,
  StoreKind,
  StreamUnit,
  StreamedHash,
  Throwaway,
} from './store.js';
export * from './target.js';
export { REPLACED_MARK, STAGING_MARK } from './store.js';
export {
  categoriesOf,
  categoryOf,
  compareFingerprints,
  diffFingerprints,
  type Fingerprint,
  type FingerprintComparison,
  type FingerprintDifference,
} from './fingerprint.js';
export type { CommandSourceConfig } from './command/source.js';
export type { FilesSourceConfig } from './files/source.js';
export type { MysqlSourceConfig } from './mysql/source.js';
export type { PostgresSourceConfig } from './postgres/source.js';
export type { RedisSourceConfig } from './redis/source.js';
/** Throwaway servers of each kind, for verification, drills, demos and tests. */
export { startMariadb, type MariadbInstance, type StartMariadbOptions } from './mysql/sandbox.js';
export {
  findPostgresBinDir,
  startPostgres,
  type PostgresInstance,
  type StartPostgresOptions,
} from './postgres/sandbox.js';
export { startRedis, type RedisInstance, type StartRedisOptions } from './redis/sandbox.js';

/** The plan's `external`: a vendor keeps the data; Lifeboat records it and backs nothing up. */
const external: UnprotectedKind<'external'> = { kind: 'external', protectable: false, label: 'external' };

const registry = {
  postgres: postgresStore,
  mysql: mysqlStore,
  redis: redisStore,
  files: filesStore,
  command: commandStore,
  external,
} satisfies { [K in StoreKind]: Store<KindConfig<K>, TargetSpec> | UnprotectedKind<K> };

/** The kinds whose driver backs them up and restores them. */
export type ProtectableKind = {
  [K in StoreKind]: (typeof registry)[K]['protectable'] extends true ? K : never;
}[StoreKind];

/** Every kind the plan may name, in the registry's order. */
export const storeKinds = Object.keys(registry) as StoreKind[];

/** The kinds Lifeboat backs up and restores. */
export const protectableKinds = storeKinds.filter(
  (kind): kind is ProtectableKind => registry[kind].protectable,
);

/** A source config as the plan states it, secrets already replaced by their values. */
export type SourceConfig = KindConfig<ProtectableKind>;

function entry(type: string): Store | UnprotectedKind | undefined {
  return Object.hasOwn(registry, type) ? (registry[type as StoreKind] as Store | UnprotectedKind) : undefined;
}

/** Whether Lifeboat backs up and restores this kind (a dataset without a source: no). */
export function isProtectable(source: { type: string } | string | undefined): boolean {
  if (source === undefined) return false;
  return entry(typeof source === 'string' ? source : source.type)?.protectable === true;
}

/** The driver of a kind Lifeboat protects, or undefined for any other name. */
export function findStore(type: string): Store | undefined {
  const found = entry(type);
  return found?.protectable ? found : undefined;
}

/**
 * The driver for a kind, or a config of it. A kind without backups of its own (the plan's
 * `external`) is a UsageError: there is nothing for Lifeboat to dump or restore.
 */
export function storeFor(kind: string | { type: string }, dataset?: string): Store {
  const type = typeof kind === 'string' ? kind : kind.type;
  const store = findStore(type);
  if (!store) {
    throw new UsageError(
      `${dataset === undefined ? '' : `dataset ${dataset}: `}source type "${type}" cannot be backed up by Lifeboat`,
      {
        hint: `Backed-up types: ${protectableKinds.join(', ')}.`,
      },
    );
  }
  return store;
}

/** The source for a dataset: its driver's dump factory. */
export function createSource(config: { type: string }, context: SourceContext): Source {
  return storeFor(config, context.dataset).source(config as never, context);
}

/** `postgres, mysql, redis, files or command`: the protectable kinds, for hints. */
export function protectableKindList(): string {
  const kinds = [...protectableKinds];
  const last = kinds.pop();
  return kinds.length === 0 ? (last ?? '') : `${kinds.join(', ')} or ${last}`;
}

/**
 * The source as PostgreSQL's, or undefined. Physical protection (pgBackRest), streaming
 * standbys, failover and Patroni are PostgreSQL's own tools: the use cases that drive them ask
 * here instead of naming the kind, so the kind's name lives in its driver alone.
 */
export function asPostgres<S extends { type: string }>(
  source: S | undefined,
): Extract<S, { type: 'postgres' }> | undefined {
  return source?.type === postgresStore.kind ? (source as Extract<S, { type: 'postgres' }>) : undefined;
}
