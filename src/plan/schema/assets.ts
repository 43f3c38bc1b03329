/** What must come back: services (RTO) and datasets (RPO), their sources, backups and repositories. */
import { z } from 'zod';
import { Cadence, Duration, Id, IdList, Priority, SecretRef, Text } from './scalars.js';

export const Dependency = z.union([
  Id,
  z.strictObject({
    on: Id.describe('The service it depends on.'),
    soft: z
      .boolean()
      .optional()
      .describe(
        'The dependant degrades but keeps running without it (e.g. a third-party API). Default: false.',
      ),
  }),
]);

export const Service = z
  .strictObject({
    name: Text.optional().describe('Display name. Default: the id.'),
    description: Text.optional(),
    priority: Priority.optional(),
    rto: Duration.optional().describe('Maximum acceptable downtime. Default: `objectives.rto`.'),
    external: z.boolean().optional().describe('Run by a third party (an API, a SaaS). Default: false.'),
    vendor: Id.optional().describe('The vendor that runs it, for external services.'),
    depends_on: z.array(Dependency).optional().describe('Services it needs in order to work.'),
    datasets: IdList.optional().describe('Datasets it owns or serves.'),
    probes: IdList.optional().describe('Probes that tell whether it is up.'),
    site: Id.optional().describe('Where it runs (a key of `sites`).'),
  })
  .describe('Something users or other services depend on. RTO lives here.');

export const PostgresSource = z.strictObject({
  type: z.literal('postgres'),
  url: Text.describe('libpq connection URI; put credentials in `env:`/`file:`, e.g. `env:DATABASE_URL`.'),
  databases: IdList.optional().describe('Databases to back up. Default: every non-template database.'),
  patroni: Text.optional().describe('Patroni REST API URL when the cluster is managed by Patroni.'),
  data_dir: Text.optional().describe(
    'Physical backups: the data directory of the cluster. pgBackRest reads it directly, so Lifeboat runs on the database host. Default: `SHOW data_directory` on the server.',
  ),
});
export const MysqlSource = z.strictObject({
  type: z.literal('mysql'),
  url: Text.describe('`mysql://user@host:port/`; credentials via `env:`/`file:`.'),
  databases: IdList.optional().describe('Databases to back up. Default: every user database.'),
});
export const RedisSource = z.strictObject({
  type: z.literal('redis'),
  url: Text.describe('`redis://host:port`; a password via `env:`/`file:`.'),
});
export const FilesSource = z.strictObject({
  type: z.literal('files'),
  paths: z.array(Text).min(1).describe('Files and directories, relative to the plan or absolute.'),
  exclude: z.array(Text).optional().describe('restic exclude patterns.'),
});
export const CommandSource = z.strictObject({
  type: z.literal('command'),
  command: Text.describe(
    'A shell command whose standard output is the backup (an Elasticsearch export, manifests).',
  ),
  restore: Text.optional().describe('A shell command that reads a backup on standard input and restores it.'),
  filename: Text.optional().describe('Name of the stored file in the snapshot. Default: `<dataset>.out`.'),
});
export const ExternalSource = z.strictObject({
  type: z.literal('external'),
  vendor: Id.optional().describe('The vendor that keeps the data (e.g. a media CDN that replicates it).'),
  description: Text.optional(),
});
export const Source = z
  .discriminatedUnion('type', [
    PostgresSource,
    MysqlSource,
    RedisSource,
    FilesSource,
    CommandSource,
    ExternalSource,
  ])
  .describe('Where the data lives and how Lifeboat reads it.');

export const Backup = z
  .strictObject({
    every: Cadence.describe('How often a backup is taken.'),
    at: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day `HH:MM` (UTC)')
      .optional()
      .describe('Time of day (UTC) for daily or slower cadences.'),
    method: z
      .enum(['logical', 'physical'])
      .optional()
      .describe(
        '`logical`: a dump streamed into restic. `physical`: pgBackRest with WAL archiving (PostgreSQL). Default: logical.',
      ),
    repository: Id.optional().describe(
      'A key of `repositories`. Default: the local repository under `.lifeboat/`.',
    ),
    wal_archive: z
      .boolean()
      .optional()
      .describe('Archive WAL continuously (physical only). Default: true for physical.'),
    full_every: Cadence.optional().describe(
      'Physical: cadence of full backups; others are incremental. Default: weekly.',
    ),
    copy_to: IdList.optional().describe(
      'Further repositories each recovery point is copied to (an off-site copy).',
    ),
  })
  .describe('Scheduled backups of the dataset.');

export const Replication = z
  .strictObject({
    standby: Text.optional().describe(
      'The standby: a libpq connection URI (credentials via `env:`/`file:`), which `lifeboat failover` and `switchover` need, or a name for the document only.',
    ),
    standby_name: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, '1 to 63 of `a-z`, `0-9`, `_`')
      .optional()
      .describe(
        "PostgreSQL: the standby's `application_name`, as the primary's `pg_stat_replication` and `synchronous_standby_names` know it. Default: read from the standby's `primary_conninfo`.",
      ),
    standby_data_dir: Text.optional().describe(
      "PostgreSQL: the standby's data directory, when Lifeboat runs on its host; lets it stop, rewind (pg_rewind) and restart the standby. Default: none (the standby is reached over SQL only).",
    ),
    mode: z.enum(['sync', 'async']).optional().describe('Default: async, or sync when the RPO is 0.'),
    max_lag: Duration.optional().describe('Replication lag above which the RPO is at risk.'),
    traffic: Id.optional().describe(
      "PostgreSQL failover: the switch (a key of `traffic`, of type `pgbouncer`, `haproxy` or `command`) that moves the dataset's clients to the new primary and cuts them off the old one. Default: none (clients are repointed by other means).",
    ),
    fence_command: Text.optional().describe(
      "PostgreSQL failover: a shell command that stops the old primary when Lifeboat cannot stop it on its host (no `source.data_dir`, or its host does not answer), e.g. a cloud API's stop-instance call or a power switch (STONITH). `{{host}}`, `{{port}}`, `{{target}}` (`host:port`) and `{{dataset}}` become the old primary's, shell-quoted; credentials come from Lifeboat's environment (`$TOKEN` in the command), or write the whole command as `env:NAME`/`file:PATH`. It runs after clients are cut off at the traffic switch and before anything is promoted, and exit 0 must mean the primary is down: a non-zero exit or a timeout stops the failover with nothing promoted and the held clients sent back, even with `--force`. Default: none (the old primary is fenced at the traffic switch only, and stopped when it returns).",
    ),
    fence_timeout: Duration.optional().describe(
      'How long `fence_command` may run before it is killed (with every process it started) and the failover stopped. Default: `30s`.',
    ),
    restart_in_place: z
      .boolean()
      .optional()
      .describe(
        'Automatic failover: when PostgreSQL crashed but its host answers, start it again first (crash recovery loses nothing and moves no client); needs `source.data_dir`. Default: false.',
      ),
    detect_after: Duration.optional().describe(
      'Automatic failover: how long the primary must fail its health probes before it is declared lost. Default: `3s`.',
    ),
    site: Id.optional(),
    managed_by: Text.optional().describe(
      'When a vendor replicates the data for you (e.g. a CDN, a managed database).',
    ),
    versioned: z
      .boolean()
      .optional()
      .describe(
        'The copies keep history (git, object versioning), so a bad write can be undone. Default: false.',
      ),
  })
  .describe('A continuously updated copy. It protects against loss of a host, not against a bad write.');

export const Retention = z
  .strictObject({
    last: z.number().int().min(0).optional(),
    hourly: z.number().int().min(0).optional(),
    daily: z.number().int().min(0).optional(),
    weekly: z.number().int().min(0).optional(),
    monthly: z.number().int().min(0).optional(),
    yearly: z.number().int().min(0).optional(),
  })
  .describe(
    'How many recovery points to keep, restic-style. Default: `{ last: 3, daily: 7, weekly: 4, monthly: 12 }`.',
  );

export const Expect = z
  .strictObject({
    equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    status: z.union([z.number().int(), z.array(z.number().int())]).optional(),
    contains: z.string().optional(),
  })
  .describe('What the result must be: `equals`, `min`/`max` for numbers, `status` and `contains` for HTTP.');

export const Check = z
  .strictObject({
    name: Text.optional(),
    database: Text.optional().describe('Database to run the query in. Default: the first of the dataset.'),
    sql: Text.optional().describe('A query whose first column of the first row is compared with `expect`.'),
    command: Text.optional().describe('A shell command that must exit 0 (run against the restored copy).'),
    expect: Expect.optional(),
  })
  .describe('A check run after every restore and verification.');

export const Verify = z
  .strictObject({
    every: Cadence.optional().describe(
      'How often the newest backup is restored and checked. Default: daily.',
    ),
    checks: z.array(Check).optional(),
  })
  .describe('Proof that backups restore.');

export const Dataset = z
  .strictObject({
    name: Text.optional(),
    description: Text.optional(),
    rpo: Duration.optional().describe('Maximum acceptable data loss. Default: `objectives.rpo`.'),
    source: Source.optional().describe(
      'Where the data lives. Without it the dataset is documented but not protected.',
    ),
    backup: Backup.optional(),
    replication: Replication.optional(),
    retention: Retention.optional(),
    verify: Verify.optional(),
  })
  .describe('Data that must not be lost. RPO lives here.');

export const Repository = z
  .strictObject({
    type: z.enum(['restic', 'pgbackrest']).optional().describe('Default: restic.'),
    url: Text.describe(
      'restic repository: a path, `s3:https://host/bucket/path`, `sftp:user@host:/path`, `rest:https://...`. pgBackRest repository: a path or `s3:https://host/bucket/path` (S3 keys from `env` as `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`).',
    ),
    password: SecretRef.optional().describe(
      'Repository password (restic). Default: a generated key file under `.lifeboat/`.',
    ),
    env: z
      .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), SecretRef)
      .optional()
      .describe('Environment for the engine, e.g. `AWS_SECRET_ACCESS_KEY: env:AWS_SECRET_ACCESS_KEY`.'),
    cacert: Text.optional().describe('CA certificate file for a TLS endpoint with a private CA.'),
    region: Text.optional().describe(
      'pgBackRest on S3: the bucket region it signs requests for. Default: `us-east-1`.',
    ),
    verify_tls: z
      .boolean()
      .optional()
      .describe(
        "pgBackRest on S3: check the endpoint's TLS certificate; `false` only for a test endpoint (prefer `cacert`). Default: true.",
      ),
    site: Id.optional(),
  })
  .describe('Where backups are kept.');
