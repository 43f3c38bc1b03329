/**
 * The registry of source types: `type` in the plan → the factory that implements it. Adding
 * a type means one new file and one line here; no other source changes.
 */
import { UsageError } from '../errors.js';
import { commandSource, type CommandSourceConfig } from './command/source.js';
import { filesSource, type FilesSourceConfig } from './files/source.js';
import { mysqlSource, type MysqlSourceConfig } from './mysql/source.js';
import { postgresSource, type PostgresSourceConfig } from './postgres/source.js';
import { redisSource, type RedisSourceConfig } from './redis/source.js';
import type { Source, SourceContext } from './store.js';

export type {
  BackupUnit,
  Capture,
  PathsUnit,
  Producer,
  RestoreTarget,
  Source,
  SourceContext,
  StreamUnit,
} from './store.js';
export { compareFingerprints, type Fingerprint, type FingerprintComparison } from './fingerprint.js';
export type {
  CommandSourceConfig,
  FilesSourceConfig,
  MysqlSourceConfig,
  PostgresSourceConfig,
  RedisSourceConfig,
};

/** A source as the plan states it, secrets already replaced by their values. */
export type SourceConfig =
  PostgresSourceConfig | MysqlSourceConfig | RedisSourceConfig | FilesSourceConfig | CommandSourceConfig;

type Factories = {
  [T in SourceConfig['type']]: (config: Extract<SourceConfig, { type: T }>, context: SourceContext) => Source;
};

const factories: Factories = {
  postgres: (config) => postgresSource(config),
  mysql: (config) => mysqlSource(config),
  redis: (config) => redisSource(config),
  files: (config, context) => filesSource(config, context),
  command: (config, context) => commandSource(config, context),
};

export const sourceTypes = Object.keys(factories) as SourceConfig['type'][];

/**
 * The source for a dataset. A type without backups of its own (the plan's `external`) is a
 * UsageError: there is nothing for Lifeboat to dump.
 */
export function createSource(config: { type: string }, context: SourceContext): Source {
  const factory = (
    factories as Record<string, ((config: never, context: SourceContext) => Source) | undefined>
  )[config.type];
  if (!factory) {
    throw new UsageError(
      `dataset ${context.dataset}: source type "${config.type}" cannot be backed up by Lifeboat`,
      {
        hint: `Backed-up types: ${sourceTypes.join(', ')}.`,
      },
    );
  }
  return factory(config as never, context);
}
