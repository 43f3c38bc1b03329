/**
 * What of the plan Lifeboat executes today, and what it only validates and renders. The plan
 * format describes behaviour (runbooks, notifications, a status page) ahead of the code that
 * will run it; until then a user must be told plainly, in `plan check` (the `not-executed`
 * rule) and in docs/plan.md, both written from this one table.
 */
import type { Plan } from './schema.js';

export type Executed = 'yes' | 'in part' | 'not yet' | 'reference';

export interface SectionExecution {
  executed: Executed;
  /** What runs, and what does not, in a sentence for docs/plan.md. */
  detail: string;
}

export const SECTION_EXECUTION: Readonly<Record<string, SectionExecution>> = {
  document: {
    executed: 'reference',
    detail: '`plan check` warns when `next_review` has passed; nothing else acts on it.',
  },
  objectives: {
    executed: 'in part',
    detail:
      '`rpo` and `rto` are the defaults of datasets and services (below); `availability` is only checked against the scenarios by `plan check`.',
  },
  services: {
    executed: 'in part',
    detail:
      "`rto` is measured against: `plan check` and `plan graph` sum it along dependencies, `doctor` compares it with the traffic switch's settings. Lifeboat does not start, stop or probe a service.",
  },
  datasets: {
    executed: 'yes',
    detail:
      '`backup`, `run`, `verify`, `restore`, `prune` and `status` act on every dataset with a `source` (except `type: external`); `replication` is used by `standby`, `failover`, `switchover` and `watch` for PostgreSQL.',
  },
  repositories: { executed: 'yes', detail: 'Where `backup` writes and `restore` and `verify` read.' },
  probes: {
    executed: 'yes',
    detail:
      '`lifeboat up` runs every probe on its own timer, records the results, and opens an incident on the services that list a probe that goes down; `lifeboat watch` also runs the postgres probes of datasets with a standby to decide a failover.',
  },
  scenarios: {
    executed: 'in part',
    detail:
      "`lifeboat watch` follows the `decision` of a scenario that `detect`s a dataset's postgres probe and whose runbook has a `failover` step for it; other scenarios are not executed yet (validated and rendered).",
  },
  runbooks: {
    executed: 'not yet',
    detail: 'A `failover` step tells `watch` which scenario covers a dataset, but no step is run.',
  },
  people: { executed: 'reference', detail: 'Contacts; nobody is paged yet.' },
  roles: { executed: 'reference', detail: '' },
  teams: { executed: 'reference', detail: '' },
  vendors: { executed: 'reference', detail: '' },
  channels: {
    executed: 'in part',
    detail:
      '`lifeboat up` delivers through channels of type `webhook`, `slack`, `teams`, `discord`, `email`, `pagerduty`, `sms` and `phone` (Twilio); `statuspage`, `whatsapp` and `other` channels are not sent to yet.',
  },
  stakeholders: {
    executed: 'yes',
    detail:
      '`lifeboat up` follows the matrix for every incident: who is told, when (`notify_at`), through which channel, with which template.',
  },
  templates: {
    executed: 'yes',
    detail: "`lifeboat up` fills them with an incident's facts for each notice.",
  },
  status_page: {
    executed: 'in part',
    detail:
      "`lifeboat up` serves the page and Statuspage's JSON API from the plan's services and the incidents; subscribers, approvals before publishing and manual overrides are not built yet.",
  },
  drills: {
    executed: 'not yet',
    detail:
      'Validated and rendered; `lifeboat drill` runs its own PITR and failover drills, not the ones listed here.',
  },
  testing: { executed: 'not yet', detail: 'No schedule is followed yet.' },
  maintenance: { executed: 'not yet', detail: 'No review is reminded yet.' },
  sites: { executed: 'reference', detail: '' },
  traffic: {
    executed: 'in part',
    detail:
      '`failover` and `switchover` move clients through the switch a dataset names in `replication.traffic` when it is of type `pgbouncer`, `haproxy` or `command`; other switches are not executed yet (validated and rendered).',
  },
  flags: { executed: 'not yet', detail: 'No flag is served to applications yet.' },
};

/** The line docs/plan.md prints under a section's heading. */
export function executionLine(section: string): string | undefined {
  const entry = SECTION_EXECUTION[section];
  if (!entry) return undefined;
  const verdict = {
    yes: 'yes',
    'in part': 'in part',
    'not yet': 'not yet (validated and rendered)',
    reference: 'nothing to execute (reference data, validated and rendered)',
  }[entry.executed];
  return `**Executed by Lifeboat: ${verdict}.**${entry.detail === '' ? '' : ` ${entry.detail}`}`;
}

export interface NotExecuted {
  section: string;
  /** For a section executed in part: the entries of this plan that are not. */
  ids?: string[];
}

/** The parts of this plan that describe behaviour Lifeboat does not run yet, in plan order. */
export function notExecuted(plan: Plan): NotExecuted[] {
  const out: NotExecuted[] = [];
  const watched = watchedProbes(plan);
  const failoverSwitches = new Set(
    Object.values(plan.datasets ?? {}).flatMap((d) =>
      d.replication?.traffic === undefined ? [] : [d.replication.traffic],
    ),
  );
  for (const section of Object.keys(plan)) {
    const entry = SECTION_EXECUTION[section];
    if (!entry || entry.executed === 'yes' || entry.executed === 'reference') continue;
    if (entry.executed === 'not yet') {
      if (present(plan[section as keyof Plan])) out.push({ section });
      continue;
    }
    const ids =
      section === 'probes'
        ? Object.keys(plan.probes ?? {}).filter((id) => !watched.has(id))
        : section === 'scenarios'
          ? Object.entries(plan.scenarios ?? {})
              .filter(
                ([, s]) =>
                  !(s.detect ?? []).some((id) => watched.has(id)) ||
                  !(s.runbooks ?? []).some((id) => failsOver(plan, id)),
              )
              .map(([id]) => id)
          : section === 'channels'
            ? Object.entries(plan.channels ?? {})
                .filter(([, c]) => ['statuspage', 'whatsapp', 'other'].includes(c.type))
                .map(([id]) => id)
            : section === 'traffic'
              ? Object.entries(plan.traffic ?? {})
                  .filter(
                    ([id, t]) =>
                      !failoverSwitches.has(id) || !['pgbouncer', 'haproxy', 'command'].includes(t.type),
                  )
                  .map(([id]) => id)
              : [];
    if (ids.length > 0) out.push({ section, ids });
  }
  return out;
}

/** Probes `lifeboat watch` runs: postgres probes of a dataset that has a standby. */
function watchedProbes(plan: Plan): Set<string> {
  const watched = new Set<string>();
  for (const [id, probe] of Object.entries(plan.probes ?? {})) {
    if (probe.type !== 'postgres') continue;
    const dataset = probe.dataset === undefined ? undefined : plan.datasets?.[probe.dataset];
    const byUrl = Object.values(plan.datasets ?? {}).some(
      (d) =>
        d.source?.type === 'postgres' &&
        probe.url !== undefined &&
        d.source.url === probe.url &&
        d.replication?.standby,
    );
    if (dataset?.replication?.standby !== undefined || byUrl) watched.add(id);
  }
  return watched;
}

/** Does the runbook, or one it runs, have a `failover` step? Walked with a queue: runbooks may call each other in a circle. */
function failsOver(plan: Plan, runbookId: string): boolean {
  const queue = [runbookId];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const runbook = plan.runbooks?.[id];
    const steps = [...(runbook?.steps ?? []), ...(runbook?.phases ?? []).flatMap((p) => p.steps)];
    for (const step of steps) {
      if (step.failover) return true;
      if (step.runbook) queue.push(step.runbook);
    }
  }
  return false;
}

function present(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
