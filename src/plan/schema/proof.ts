/** Proof and upkeep: drills, testing, maintenance, sites, traffic switches and feature flags. */
import { z } from 'zod';
import { Step } from './response.js';
import { Cadence, Id, IdList, Text } from './scalars.js';

export const SuccessCriterion = z.enum([
  'rto_met',
  'rpo_met',
  'probes_healthy',
  'checks_pass',
  'notified',
  'no_security_regression',
]);

export const Drill = z
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

export const Testing = z.strictObject({
  success_criteria: z.array(SuccessCriterion).optional(),
  record: z
    .array(Text)
    .optional()
    .describe('Fields each test record must carry (date, scenario, results...).'),
  notes: z.array(Text).optional(),
});

export const Maintenance = z.strictObject({
  reviews: z
    .array(z.strictObject({ every: Cadence, tasks: z.array(Text).min(1), owner: Id.optional() }))
    .optional()
    .describe('Recurring plan reviews.'),
  change_management: z.array(Text).optional(),
  training: z.array(z.strictObject({ audience: Text, requirements: z.array(Text) })).optional(),
  documents: z.array(z.strictObject({ name: Text, description: Text.optional() })).optional(),
});

export const Site = z.strictObject({
  name: Text.optional(),
  role: z.enum(['primary', 'secondary', 'tertiary']).optional(),
  readiness: z.enum(['active', 'hot', 'warm', 'cold']).optional(),
  contains: z.array(Text).optional(),
});

export const TrafficSwitch = z
  .strictObject({
    type: z.enum(['pgbouncer', 'haproxy', 'command', 'http', 'weighted']),
    description: Text.optional(),
    command: Text.optional().describe('For `command`: run with `{{target}}` and `{{weight}}` substituted.'),
    verify: Text.optional().describe('A command that proves the switch took effect.'),
    config: Text.optional().describe('pgbouncer: path of its ini file; haproxy: runtime API socket.'),
    backend: Text.optional(),
    admin_url: Text.optional().describe(
      "pgbouncer: its admin console, `postgres://USER@HOST:PORT/pgbouncer`; USER must be in pgbouncer's `admin_users`. Default: `postgres://postgres@127.0.0.1:6432/pgbouncer`.",
    ),
    database: Text.optional().describe(
      "pgbouncer: the `[databases]` entry the dataset's clients use, rewritten on failover. Default: the database of the dataset's source URL, else `postgres`.",
    ),
    client_url: Text.optional().describe(
      "The libpq URL the dataset's clients connect through this switch (credentials via `env:`/`file:`), e.g. HAProxy's frontend: where `lifeboat drill failover` writes to measure what clients see. One host only. Default: for pgbouncer, `admin_url`'s user, host and port with the switch's `database`; for other types, none.",
    ),
    server: Text.optional().describe(
      'haproxy: the server line of `backend` that points at the primary. Default: `primary`.',
    ),
    block: Text.optional().describe(
      'For `command`: a command that cuts clients off the old primary before a failover promotes anything. Default: none (the old primary is fenced by stopping it).',
    ),
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

export const Flag = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.strictObject({
    default: z.union([z.string(), z.number(), z.boolean()]),
    description: Text.optional(),
  }),
]);
