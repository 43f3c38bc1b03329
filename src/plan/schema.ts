/**
 * The plan format, declared once. TypeScript types are inferred from it, the JSON Schema
 * (schema/lifeboat.schema.json) is generated from it and docs/plan.md is written from the
 * same descriptions. Objects are strict so that a misspelt key is an error, not a silent no-op.
 *
 * Naming: YAML keys are snake_case, ids (the keys of `services`, `datasets`, ...) are
 * lowercase words joined by `-` or `_`. Durations are strings such as `30s`, `15m`, `4h`, `1d`.
 */
import { z } from 'zod';
import { DURATION_PATTERN, RANGE_PATTERN } from './duration.js';
import { SECRET_REF_PATTERN } from './secret.js';

// ---------------------------------------------------------------------------------------------
// Scalars

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const Id = z
  .string()
  .regex(idPattern, 'an id is letters, digits, `-`, `_` or `.`, starting with a letter or digit');

export const Duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'a duration such as `30s`, `15m`, `4h`, `1d` or `1h30m`')
  .describe('A duration: a number and a unit (ms, s, m, h, d, w), e.g. `30s`, `4h`, `1h30m`.');

export const DurationRange = z
  .string()
  .regex(
    new RegExp(`(${RANGE_PATTERN})|(${DURATION_PATTERN})`),
    'a duration (`2h`) or a range of two (`2h..4h`)',
  )
  .describe('A duration or a range `MIN..MAX`, e.g. `15m..30m`.');

const cadenceWords = [
  'continuous',
  'hourly',
  'daily',
  'weekly',
  'monthly',
  'quarterly',
  'yearly',
  'annually',
];
export const Cadence = z
  .string()
  .regex(
    new RegExp(`^(${cadenceWords.join('|')})$|${DURATION_PATTERN}`),
    `a cadence: ${cadenceWords.join(', ')}, or a duration such as \`4h\``,
  )
  .describe(`How often: ${cadenceWords.join(', ')}, or a duration such as \`30m\`.`);

export const SecretRef = z
  .string()
  .regex(
    new RegExp(SECRET_REF_PATTERN),
    'a secret reference, `env:NAME` or `file:PATH`; never the secret itself',
  )
  .describe(
    'Where a secret is found: `env:NAME` (an environment variable) or `file:PATH` (relative to the plan).',
  );

/** A value that may be given in clear (a host, a URL without credentials) or as a secret reference. */
const Text = z.string().min(1, 'must not be empty');
const IdList = z.array(Id);
const OneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]);

const Priority = z
  .enum(['critical', 'high', 'medium', 'low'])
  .describe('How much the business depends on it.');
const Likelihood = z.enum(['high', 'medium', 'low']);
const CalendarDate = z
  .union([z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, 'a date `YYYY-MM-DD` (or `YYYY-MM`)'), z.date()])
  .describe('A calendar date, `YYYY-MM-DD` or `YYYY-MM`.');

// ---------------------------------------------------------------------------------------------
// Document and objectives

const Document = z
  .strictObject({
    title: Text.optional().describe(
      'Title of the rendered DR document. Default: `<organization> Disaster Recovery Plan`.',
    ),
    version: z
      .union([Text, z.number()])
      .optional()
      .describe('The document version the owners give it, e.g. `2.1`.'),
    last_updated: CalendarDate.optional(),
    next_review: CalendarDate.optional().describe(
      'When the plan must next be reviewed; a past date is a warning.',
    ),
    owner: Text.optional().describe('Who owns the plan (a team or a person id).'),
    approved_by: Text.optional().describe('Who approved it.'),
    purpose: Text.optional(),
    summary: Text.optional().describe('The executive summary, shown first in the rendered document.'),
    scope: z.array(Text).optional(),
    assumptions: z.array(Text).optional(),
  })
  .describe('Metadata of the DR document itself.');

const Objectives = z
  .strictObject({
    availability: z
      .union([z.string().regex(/^\d+(\.\d+)?%$/, 'a percentage such as `99.9%`'), z.number().min(0).max(100)])
      .optional()
      .describe('Availability target, e.g. `99.9%` (8.76 hours of downtime a year).'),
    latency: z
      .record(z.string().regex(/^p\d{1,2}(\.\d+)?$/, 'a percentile such as `p95`'), Duration)
      .optional()
      .describe('Latency targets by percentile, e.g. `{ p95: 2s }`.'),
    rto: Duration.optional().describe(
      'Plan-wide recovery time objective; a service without its own RTO inherits it.',
    ),
    rpo: Duration.optional().describe(
      'Plan-wide recovery point objective; a dataset without its own RPO inherits it.',
    ),
    other: z
      .array(Text)
      .optional()
      .describe('Objectives that are stated but not measured, e.g. "zero data corruption".'),
  })
  .describe('Service level objectives of the whole platform.');

// ---------------------------------------------------------------------------------------------
// Services and datasets

const Dependency = z.union([
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

const Service = z
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

const PostgresSource = z.strictObject({
  type: z.literal('postgres'),
  url: Text.describe('libpq connection URI; put credentials in `env:`/`file:`, e.g. `env:DATABASE_URL`.'),
  databases: IdList.optional().describe('Databases to back up. Default: every non-template database.'),
  patroni: Text.optional().describe('Patroni REST API URL when the cluster is managed by Patroni.'),
  data_dir: Text.optional().describe(
    'Physical backups: the data directory of the cluster. pgBackRest reads it directly, so Lifeboat runs on the database host. Default: `SHOW data_directory` on the server.',
  ),
});
const MysqlSource = z.strictObject({
  type: z.literal('mysql'),
  url: Text.describe('`mysql://user@host:port/`; credentials via `env:`/`file:`.'),
  databases: IdList.optional().describe('Databases to back up. Default: every user database.'),
});
const RedisSource = z.strictObject({
  type: z.literal('redis'),
  url: Text.describe('`redis://host:port`; a password via `env:`/`file:`.'),
});
const FilesSource = z.strictObject({
  type: z.literal('files'),
  paths: z.array(Text).min(1).describe('Files and directories, relative to the plan or absolute.'),
  exclude: z.array(Text).optional().describe('restic exclude patterns.'),
});
const CommandSource = z.strictObject({
  type: z.literal('command'),
  command: Text.describe(
    'A shell command whose standard output is the backup (an Elasticsearch export, manifests).',
  ),
  restore: Text.optional().describe('A shell command that reads a backup on standard input and restores it.'),
  filename: Text.optional().describe('Name of the stored file in the snapshot. Default: `<dataset>.out`.'),
});
const ExternalSource = z.strictObject({
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

const Backup = z
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

const Replication = z
  .strictObject({
    standby: Text.optional().describe('Connection URL or name of the standby.'),
    mode: z.enum(['sync', 'async']).optional().describe('Default: async, or sync when the RPO is 0.'),
    max_lag: Duration.optional().describe('Replication lag above which the RPO is at risk.'),
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

const Retention = z
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

const Expect = z
  .strictObject({
    equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    status: z.union([z.number().int(), z.array(z.number().int())]).optional(),
    contains: z.string().optional(),
  })
  .describe('What the result must be: `equals`, `min`/`max` for numbers, `status` and `contains` for HTTP.');

const Check = z
  .strictObject({
    name: Text.optional(),
    database: Text.optional().describe('Database to run the query in. Default: the first of the dataset.'),
    sql: Text.optional().describe('A query whose first column of the first row is compared with `expect`.'),
    command: Text.optional().describe('A shell command that must exit 0 (run against the restored copy).'),
    expect: Expect.optional(),
  })
  .describe('A check run after every restore and verification.');

const Verify = z
  .strictObject({
    every: Cadence.optional().describe(
      'How often the newest backup is restored and checked. Default: daily.',
    ),
    checks: z.array(Check).optional(),
  })
  .describe('Proof that backups restore.');

const Dataset = z
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

const Repository = z
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

// ---------------------------------------------------------------------------------------------
// Detection

const probeCommon = {
  name: Text.optional(),
  every: Duration.optional().describe('Interval between checks. Default: 30s.'),
  timeout: Duration.optional().describe('Default: 5s.'),
  failures: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Consecutive failures before the probe is down. Default: 3.'),
  description: Text.optional(),
};
export const Probe = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('http'),
      url: Text,
      method: z.enum(['GET', 'HEAD', 'POST']).optional(),
      headers: z
        .record(z.string(), z.string())
        .optional()
        .describe('Header values may be `env:`/`file:` references.'),
      expect: Expect.optional(),
      ...probeCommon,
    }),
    z.strictObject({
      type: z.literal('tcp'),
      host: Text,
      port: z.number().int().min(1).max(65_535),
      ...probeCommon,
    }),
    z.strictObject({
      type: z.enum(['postgres', 'mysql', 'redis']),
      dataset: Id.optional().describe('Probe the source of this dataset.'),
      url: Text.optional().describe('Or an explicit URL.'),
      ...probeCommon,
    }),
    z.strictObject({ type: z.literal('command'), command: Text, ...probeCommon }),
    z
      .strictObject({
        type: z.literal('manual'),
        ...probeCommon,
      })
      .describe('Detection by people (customer reports, a security team).'),
  ])
  .describe('A health check.');

// ---------------------------------------------------------------------------------------------
// Response: scenarios and runbooks

const Decision = z.enum(['automatic', 'approval', 'full-dr']);

const Scenario = z
  .strictObject({
    name: Text.optional(),
    description: Text.optional(),
    impact: Text.optional(),
    probability: Likelihood.optional(),
    detection: Text.optional().describe('How it is noticed, in words.'),
    detect: IdList.optional().describe('Probes whose failure signals this scenario.'),
    affects: z
      .union([z.literal('all'), IdList])
      .optional()
      .describe('Services it takes down (`all` for every one).'),
    decision: OneOrMany(Decision)
      .optional()
      .describe('automatic, approval (a person decides), full-dr; a list is an escalation ladder.'),
    runbooks: IdList.optional().describe('Runbooks that recover from it, in order.'),
    estimated_recovery: DurationRange.optional().describe(
      "The plan's own estimate, e.g. `2h..4h`; drills measure the real one.",
    ),
    recovery_method: Text.optional(),
  })
  .describe('Something that can go wrong, how it is detected and how Lifeboat responds.');

const Approve = z.strictObject({
  by: OneOrMany(Id).describe('Roles, teams or people who may approve.'),
  count: z.number().int().min(1).optional().describe('How many distinct approvals are needed. Default: 1.'),
  timeout: Duration.optional(),
});

const Step = z
  .strictObject({
    name: Text.optional(),
    description: Text.optional(),
    timeout: Duration.optional().describe('Default: 10m for commands, 30s for HTTP.'),
    on_failure: z.enum(['stop', 'continue', 'retry']).optional().describe('Default: stop.'),
    retries: z.number().int().min(0).optional(),
    owner: Id.optional().describe('The role or team that performs or watches this step.'),
    when: Text.optional().describe(
      'A condition in words ("if automatic recovery fails"); the operator confirms it before the step runs.',
    ),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())
      .optional()
      .describe('Environment for `run:`; values may be `env:`/`file:` references.'),
    cwd: Text.optional().describe(
      "Working directory for `run:`, relative to the plan. Default: the plan's directory.",
    ),
    // One action per step:
    run: Text.optional().describe('A shell command.'),
    http: z
      .strictObject({
        method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).optional(),
        url: Text,
        headers: z.record(z.string(), z.string()).optional(),
        body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
        expect: Expect.optional(),
      })
      .optional()
      .describe('An HTTP call (status pages, DNS and cloud APIs).'),
    sql: z
      .strictObject({ dataset: Id, query: Text, database: Text.optional(), expect: Expect.optional() })
      .optional(),
    wait_for: z
      .strictObject({ probe: Id, status: z.enum(['up', 'down']).optional(), timeout: Duration.optional() })
      .optional()
      .describe('Wait until a probe reports a status (default up).'),
    approve: Approve.optional().describe('A human gate: the runbook waits for approval.'),
    notify: z
      .strictObject({ template: Id.optional(), to: OneOrMany(Id).optional(), message: Text.optional() })
      .optional(),
    restore: z
      .strictObject({
        dataset: Id,
        at: Text.optional().describe('`latest` (default), a snapshot id, or an ISO time.'),
        to: Text.optional().describe('Target: a URL, a directory, or `source` to restore over the original.'),
      })
      .optional(),
    failover: z.strictObject({ dataset: Id, to: Text.optional() }).optional(),
    switchover: z.strictObject({ dataset: Id, to: Text.optional() }).optional(),
    traffic: z
      .strictObject({
        switch: Id.describe('A key of `traffic`.'),
        to: Text.optional(),
        weights: z
          .array(z.number().min(0).max(100))
          .optional()
          .describe('Staged shares in percent, e.g. `[10, 35, 60, 100]`.'),
        interval: Duration.optional().describe('Time between two stages.'),
      })
      .optional(),
    flag: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('Set feature flags.'),
    check: Id.optional().describe('Run the checks of this dataset.'),
    status_page: z
      .strictObject({
        status: z.enum(['investigating', 'identified', 'monitoring', 'resolved']),
        message: Text.optional(),
        components: IdList.optional(),
      })
      .optional(),
    runbook: Id.optional().describe('Run another runbook here.'),
    manual: Text.optional().describe(
      'An instruction for a person; the runbook waits until it is marked done.',
    ),
    checklist: z.array(Text).optional().describe('Items a person ticks off.'),
    wait: Duration.optional().describe('Pause, e.g. to watch error rates between traffic stages.'),
  })
  .describe('One step of a runbook: exactly one action key.');

export const STEP_ACTIONS = [
  'run',
  'http',
  'sql',
  'wait_for',
  'approve',
  'notify',
  'restore',
  'failover',
  'switchover',
  'traffic',
  'flag',
  'check',
  'status_page',
  'runbook',
  'manual',
  'checklist',
  'wait',
] as const satisfies readonly (keyof z.infer<typeof Step>)[];

const Phase = z.strictObject({
  name: Text,
  timebox: DurationRange.optional().describe('When the phase runs, from incident start, e.g. `0m..30m`.'),
  steps: z.array(Step).min(1),
});

const RunbookInput = z.strictObject({
  description: Text.optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  required: z.boolean().optional().describe('Default: true when there is no default.'),
});

const Runbook = z
  .strictObject({
    name: Text.optional(),
    description: Text.optional(),
    estimated_duration: DurationRange.optional(),
    inputs: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), RunbookInput)
      .optional()
      .describe(
        'Values asked for when the runbook starts (a timestamp, a pod name), used in steps as `{{inputs.NAME}}`.',
      ),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())
      .optional()
      .describe('Environment for every `run:` step.'),
    steps: z.array(Step).optional(),
    phases: z.array(Phase).optional().describe('Steps grouped into time-boxed phases; use this or `steps`.'),
  })
  .describe('An executable, resumable procedure.');

// ---------------------------------------------------------------------------------------------
// People and communication

const Person = z
  .strictObject({
    name: Text,
    title: Text.optional(),
    phone: Text.optional().describe(
      'A phone number, or `env:`/`file:` when it must not be in the repository.',
    ),
    email: Text.optional(),
    chat: Text.optional(),
    on_call: z.enum(['primary', 'secondary', 'escalation']).optional(),
  })
  .describe('Someone who can be reached.');

const Role = z
  .strictObject({
    name: Text.optional(),
    primary: Id.optional().describe('A person id.'),
    backup: OneOrMany(Id).optional().describe('Person ids, in order.'),
    responsibilities: z.array(Text).optional(),
  })
  .describe('A responsibility during an incident (incident commander, DBA).');

const Team = z
  .strictObject({
    name: Text.optional(),
    lead: Id.optional().describe('A person id.'),
    members: IdList.optional().describe('Person ids.'),
    positions: z
      .array(z.strictObject({ title: Text, count: z.number().int().min(1).optional() }))
      .optional()
      .describe(
        'Members described by position when they are not named, e.g. `{ title: Backend Engineer, count: 2 }`.',
      ),
    responsibilities: z.array(Text).optional(),
  })
  .describe('A group with a lead.');

const Vendor = z
  .strictObject({
    name: Text,
    service: Text.optional(),
    support_phone: Text.optional(),
    support_email: Text.optional(),
    support_url: Text.optional(),
    account_manager: Text.optional(),
    sla: Text.optional(),
    status_page: Text.optional(),
    notes: Text.optional(),
  })
  .describe('A supplier the recovery depends on.');

const Channel = z
  .strictObject({
    type: z.enum([
      'slack',
      'teams',
      'discord',
      'whatsapp',
      'email',
      'sms',
      'phone',
      'pagerduty',
      'webhook',
      'statuspage',
      'other',
    ]),
    name: Text.optional(),
    tier: z.enum(['primary', 'backup', 'escalation']).optional().describe('Default: primary.'),
    target: Text.optional().describe('Channel name, address list, phone tree or page URL, in clear.'),
    webhook: SecretRef.optional(),
    smtp: SecretRef.optional().describe('`smtp://user:pass@host:port` behind `env:`/`file:`.'),
    from: Text.optional(),
    to: OneOrMany(Text).optional(),
    routing_key: SecretRef.optional().describe('PagerDuty Events v2 routing key.'),
    api_key: SecretRef.optional(),
    page_id: Text.optional(),
    url: Text.optional().describe('Endpoint for webhooks and self-hosted services.'),
    severities: z
      .array(z.enum(['critical', 'high', 'medium', 'low']))
      .optional()
      .describe('Only incidents of these severities use it. Default: all.'),
    description: Text.optional(),
  })
  .describe('A way to reach people.');

const NotifyAt = z.union([z.literal('immediate'), z.literal('resolution'), Duration]);

const Stakeholder = z
  .strictObject({
    name: Text.optional(),
    audience: z.enum(['internal', 'external']).optional().describe('Default: internal.'),
    contacts: IdList.optional().describe('Roles, teams or people who receive it.'),
    via: IdList.optional().describe(
      "Channels used to reach them; `status_page` for the plan's own status page.",
    ),
    notify_at: z
      .array(NotifyAt)
      .optional()
      .describe('Checkpoints from incident start: `immediate`, a duration (`15m`, `1h`), `resolution`.'),
    condition: Text.optional().describe('Only when this holds, e.g. "major incident".'),
    severities: z.array(z.enum(['critical', 'high', 'medium', 'low'])).optional(),
    template: Id.optional().describe('Template of the first message.'),
    update_template: Id.optional().describe('Template of the updates.'),
    resolution_template: Id.optional().describe('Template of the resolution message.'),
    update_every: Duration.optional().describe('Repeat updates at this interval until resolution.'),
  })
  .describe('A row of the stakeholder notification matrix.');

const Template = z
  .strictObject({
    name: Text.optional(),
    audience: z.enum(['internal', 'external']).optional(),
    subject: Text.optional(),
    body: Text.describe('Text with `{{variable}}` placeholders, e.g. `{{incident.severity}}`.'),
  })
  .describe('A message template.');

const StatusPage = z
  .strictObject({
    url: Text.optional().describe('The public page.'),
    provider: Id.optional().describe('A channel of type `statuspage`, when a hosted page mirrors ours.'),
    components: IdList.optional().describe('Services shown. Default: every service that is not external.'),
    automatic: z
      .boolean()
      .optional()
      .describe('Open an incident on the page when a critical probe fails. Default: true.'),
    manual_override: z.boolean().optional().describe('People may post updates by hand. Default: true.'),
    approvals: z
      .strictObject({ major: z.number().int().min(1).optional(), by: IdList.optional() })
      .optional()
      .describe('Distinct approvals before a major-incident update is published.'),
  })
  .describe('The public status page.');

// ---------------------------------------------------------------------------------------------
// Proof: drills, testing and maintenance

const SuccessCriterion = z.enum([
  'rto_met',
  'rpo_met',
  'probes_healthy',
  'checks_pass',
  'notified',
  'no_security_regression',
]);

const Drill = z
  .strictObject({
    name: Text.optional(),
    kind: z
      .enum([
        'restore',
        'pitr',
        'failover',
        'switchover',
        'runbook',
        'probe',
        'notification',
        'tabletop',
        'full-dr',
      ])
      .describe('What is exercised.'),
    every: Cadence,
    datasets: IdList.optional(),
    scenarios: IdList.optional().describe('Scenarios this drill proves.'),
    runbook: Id.optional(),
    services: IdList.optional(),
    description: Text.optional(),
    procedure: z.array(Step).optional().describe('Steps of the drill when they differ from a runbook.'),
    success: z.array(SuccessCriterion).optional().describe('Default: `testing.success_criteria`.'),
    sandbox: z.boolean().optional().describe('Run against throwaway copies. Default: true.'),
  })
  .describe('A scheduled exercise whose RTO and RPO are measured.');

const Testing = z.strictObject({
  success_criteria: z.array(SuccessCriterion).optional(),
  record: z
    .array(Text)
    .optional()
    .describe('Fields each test record must carry (date, scenario, results...).'),
  notes: z.array(Text).optional(),
});

const Maintenance = z.strictObject({
  reviews: z
    .array(z.strictObject({ every: Cadence, tasks: z.array(Text).min(1), owner: Id.optional() }))
    .optional()
    .describe('Recurring plan reviews.'),
  change_management: z.array(Text).optional(),
  training: z.array(z.strictObject({ audience: Text, requirements: z.array(Text) })).optional(),
  documents: z.array(z.strictObject({ name: Text, description: Text.optional() })).optional(),
});

const Site = z.strictObject({
  name: Text.optional(),
  role: z.enum(['primary', 'secondary', 'tertiary']).optional(),
  readiness: z.enum(['active', 'hot', 'warm', 'cold']).optional(),
  contains: z.array(Text).optional(),
});

const TrafficSwitch = z
  .strictObject({
    type: z.enum(['pgbouncer', 'haproxy', 'command', 'http', 'weighted']),
    description: Text.optional(),
    command: Text.optional().describe('For `command`: run with `{{target}}` and `{{weight}}` substituted.'),
    verify: Text.optional().describe('A command that proves the switch took effect.'),
    config: Text.optional().describe('pgbouncer: path of its ini file; haproxy: runtime API socket.'),
    backend: Text.optional(),
    targets: z.record(Id, Text).optional().describe('Named destinations (primary, secondary...).'),
    http: z
      .strictObject({
        url: Text,
        method: z.string().optional(),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
  })
  .describe('How client traffic is moved.');

const Flag = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.strictObject({
    default: z.union([z.string(), z.number(), z.boolean()]),
    description: Text.optional(),
  }),
]);

// ---------------------------------------------------------------------------------------------
// The plan

export const PlanSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of the JSON Schema, for editors.'),
    version: z.literal(1).describe('Format version of this file. Always 1.'),
    organization: Text.describe('Who the plan is for.'),
    document: Document.optional(),
    objectives: Objectives.optional(),
    services: z.record(Id, Service).optional(),
    datasets: z.record(Id, Dataset).optional(),
    repositories: z.record(Id, Repository).optional(),
    probes: z.record(Id, Probe).optional(),
    scenarios: z.record(Id, Scenario).optional(),
    runbooks: z.record(Id, Runbook).optional(),
    people: z.record(Id, Person).optional(),
    roles: z.record(Id, Role).optional(),
    teams: z.record(Id, Team).optional(),
    vendors: z.record(Id, Vendor).optional(),
    channels: z.record(Id, Channel).optional(),
    stakeholders: z.record(Id, Stakeholder).optional().describe('The stakeholder notification matrix.'),
    templates: z.record(Id, Template).optional(),
    status_page: StatusPage.optional(),
    drills: z.record(Id, Drill).optional(),
    testing: Testing.optional(),
    maintenance: Maintenance.optional(),
    sites: z.record(Id, Site).optional().describe('Regions or data centres and what each holds.'),
    traffic: z.record(Id, TrafficSwitch).optional(),
    flags: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), Flag)
      .optional()
      .describe('Feature flags served to applications.'),
  })
  .describe('A disaster-recovery plan: lifeboat.yaml.');

export type Plan = z.infer<typeof PlanSchema>;
export type Service = z.infer<typeof Service>;
export type Dataset = z.infer<typeof Dataset>;
export type SourceConfig = z.infer<typeof Source>;
export type Repository = z.infer<typeof Repository>;
export type Probe = z.infer<typeof Probe>;
export type Scenario = z.infer<typeof Scenario>;
export type Runbook = z.infer<typeof Runbook>;
export type Step = z.infer<typeof Step>;
export type StepAction = (typeof STEP_ACTIONS)[number];
export type Person = z.infer<typeof Person>;
export type Role = z.infer<typeof Role>;
export type Team = z.infer<typeof Team>;
export type Channel = z.infer<typeof Channel>;
export type Stakeholder = z.infer<typeof Stakeholder>;
export type Template = z.infer<typeof Template>;
export type Drill = z.infer<typeof Drill>;
export type Dependency = z.infer<typeof Dependency>;
export type Check = z.infer<typeof Check>;
export type RetentionPolicy = z.infer<typeof Retention>;
