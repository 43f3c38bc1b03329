/** Testing and validation (drills by cadence, test records, success criteria) and plan maintenance. */
import type { Drill, Plan } from '../../schema.js';
import {
  cadenceSeconds,
  datasetName,
  humanCadence,
  partyName,
  scenarioName,
  serviceName,
} from '../format.js';
import {
  bullets,
  heading,
  joined,
  numbered,
  paragraph,
  ref,
  strong,
  text,
  type Block,
  type Inline,
  type RenderInput,
} from '../model.js';
import { runbookLinks } from './scenarios.js';
import { stepList } from './runbooks.js';

const SUCCESS_LABELS: Record<string, string> = {
  rto_met: 'Recovery completes within RTO targets',
  rpo_met: 'Data loss is within RPO limits',
  probes_healthy: 'All services pass health checks',
  checks_pass: 'Data validation checks pass after the restore',
  notified: 'The communication plan was executed (stakeholders notified on time)',
  no_security_regression: 'No security vulnerabilities introduced',
};

const KIND_LABELS: Record<Drill['kind'], string> = {
  restore: 'restore test',
  pitr: 'point-in-time recovery test',
  failover: 'failover test',
  switchover: 'switchover test',
  runbook: 'runbook exercise',
  probe: 'detection test',
  notification: 'communication test',
  tabletop: 'tabletop exercise',
  'full-dr': 'full DR exercise',
};

/** Groups `[key, cadence]` entries by cadence, most frequent first. */
function byCadence<T>(entries: T[], cadence: (entry: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const entry of entries) {
    const key = cadence(entry);
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.entries()].sort((a, b) => cadenceSeconds(a[0]) - cadenceSeconds(b[0]));
}

export function testingSection({ plan }: RenderInput): Block[] {
  const drills = Object.entries(plan.drills ?? {});
  const testing = plan.testing ?? {};
  const blocks: Block[] = [];
  if (drills.length > 0) {
    blocks.push(heading(3, 'Disaster Recovery Testing Schedule'));
    for (const [cadence, group] of byCadence(drills, ([, d]) => d.every)) {
      blocks.push(heading(4, `${humanCadence(cadence)} Tests`));
      blocks.push(bullets(group.map(([id, drill]) => drillLine(plan, id, drill))));
    }
    const withProcedure = drills.filter(([, d]) => d.procedure?.length);
    if (withProcedure.length > 0) {
      blocks.push(heading(3, 'Test Procedures'));
      for (const [id, drill] of withProcedure) {
        blocks.push(heading(4, drill.name ?? id, `drill:${id}`), stepList(plan, drill.procedure!));
      }
    }
  }
  if (testing.record?.length) {
    blocks.push(heading(3, 'Test Documentation'), paragraph(text('Each test must be documented with:')));
    blocks.push(bullets(testing.record.map((field) => [strong(field)])));
  }
  if (testing.success_criteria?.length) {
    blocks.push(heading(3, 'Success Criteria'), paragraph(text('Tests are considered successful if:')));
    blocks.push(bullets(testing.success_criteria.map((c) => [text(SUCCESS_LABELS[c] ?? c)])));
  }
  if (testing.notes?.length) blocks.push(heading(3, 'Notes'), bullets(testing.notes.map((n) => [text(n)])));
  return blocks.length === 0 ? [] : [heading(2, 'Testing and Validation'), ...blocks];
}

function drillLine(plan: Plan, id: string, drill: Drill): Inline[] {
  const parts: Inline[] = [strong(drill.name ?? id), text(` (${KIND_LABELS[drill.kind] ?? drill.kind})`)];
  if (drill.description !== undefined) parts.push(text(`: ${drill.description}`));
  const about: Inline[][] = [];
  if (drill.scenarios?.length) {
    about.push([
      text('scenarios: '),
      ...joined(drill.scenarios.map((s) => [ref(`scenario:${s}`, scenarioName(plan, s))])),
    ]);
  }
  if (drill.datasets?.length)
    about.push([text(`datasets: ${drill.datasets.map((d) => datasetName(plan, d)).join(', ')}`)]);
  if (drill.services?.length)
    about.push([text(`services: ${drill.services.map((s) => serviceName(plan, s)).join(', ')}`)]);
  if (drill.runbook !== undefined) about.push([text('runbook: '), ...runbookLinks(plan, [drill.runbook])]);
  if (drill.success?.length)
    about.push([text(`success: ${drill.success.map((c) => SUCCESS_LABELS[c] ?? c).join('; ')}`)]);
  if (about.length > 0) parts.push(text(' — '), ...joined(about, '; '));
  // A drill against live systems is worth a warning in a document people skim.
  if (drill.sandbox === false) parts.push(text(' — '), strong('runs against production systems'));
  return parts;
}

export function maintenanceSection({ plan }: RenderInput): Block[] {
  const m = plan.maintenance ?? {};
  const blocks: Block[] = [];
  if (m.reviews?.length) {
    blocks.push(heading(3, 'Plan Review Schedule'));
    for (const [cadence, reviews] of byCadence(m.reviews, (r) => r.every)) {
      blocks.push(heading(4, `${humanCadence(cadence)} Reviews`));
      for (const review of reviews) {
        if (review.owner !== undefined)
          blocks.push(paragraph(strong('Owner'), text(`: ${partyName(plan, review.owner)}`)));
        blocks.push(bullets(review.tasks.map((t) => [text(t)])));
      }
    }
  }
  if (m.change_management?.length) {
    blocks.push(
      heading(3, 'Change Management'),
      paragraph(text('All changes to the disaster recovery plan must:')),
    );
    blocks.push(numbered(m.change_management.map((c) => [text(c)])));
  }
  if (m.training?.length) {
    blocks.push(heading(3, 'Training Requirements'));
    for (const t of m.training)
      blocks.push(heading(4, t.audience), bullets(t.requirements.map((r) => [text(r)])));
  }
  if (m.documents?.length) {
    blocks.push(
      heading(3, 'Documentation Updates'),
      paragraph(text('Keep the following documents current:')),
    );
    blocks.push(
      bullets(
        m.documents.map((d) => [
          strong(d.name),
          ...(d.description === undefined ? [] : [text(`: ${d.description}`)]),
        ]),
      ),
    );
  }
  return blocks.length === 0 ? [] : [heading(2, 'Maintenance and Review'), ...blocks];
}
