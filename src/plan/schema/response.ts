/** Detection and response: probes, scenarios, runbooks and their steps. */
import { z } from 'zod';
import { Expect } from './assets.js';
import { Duration, DurationRange, Id, IdList, Likelihood, OneOrMany, Text } from './scalars.js';

export const probeCommon = {
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
    z.strictObject({
      type: z.literal('dns'),
      host: Text.describe('The name to resolve, as the system resolver sees it.'),
      address: Text.optional().describe('An address it must resolve to. Default: any address.'),
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

export const Decision = z.enum(['automatic', 'approval', 'full-dr']);

export const Scenario = z
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

export const Approve = z.strictObject({
  by: OneOrMany(Id).describe('Roles, teams or people who may approve.'),
  count: z.number().int().min(1).optional().describe('How many distinct approvals are needed. Default: 1.'),
  timeout: Duration.optional(),
});

export const Step = z
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

export const Phase = z.strictObject({
  name: Text,
  timebox: DurationRange.optional().describe('When the phase runs, from incident start, e.g. `0m..30m`.'),
  steps: z.array(Step).min(1),
});

export const RunbookInput = z.strictObject({
  description: Text.optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  required: z.boolean().optional().describe('Default: true when there is no default.'),
});

export const Runbook = z
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
