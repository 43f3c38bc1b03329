/** unknown-reference: every id the plan mentions must be declared where it is looked up. */
import { closest } from '../schema-walk.js';
import type { PathSegment } from '../findings.js';
import type { Plan } from '../schema.js';
import { normalizeDependency } from '../graph.js';
import { allSteps, asList, entries, type Rule, type RuleHit } from './rule.js';

type Kind =
  | 'services'
  | 'datasets'
  | 'repositories'
  | 'probes'
  | 'scenarios'
  | 'runbooks'
  | 'people'
  | 'roles'
  | 'teams'
  | 'vendors'
  | 'channels'
  | 'stakeholders'
  | 'templates'
  | 'sites'
  | 'traffic';

interface Reference {
  path: PathSegment[];
  id: string;
  /** Where the id may be declared; the first match wins. */
  kinds: Kind[];
}

const WHO: Kind[] = ['roles', 'teams', 'people'];

/** Every reference in the plan, with the path that holds it. */
export function collectReferences(plan: Plan): Reference[] {
  const refs: Reference[] = [];
  const add = (path: PathSegment[], ids: string | string[] | undefined, kinds: Kind[]) => {
    const list = asList(ids);
    list.forEach((id, i) => refs.push({ path: Array.isArray(ids) ? [...path, i] : path, id, kinds }));
  };

  for (const [id, s] of entries(plan.services)) {
    s.depends_on?.forEach((dep, i) =>
      refs.push({
        path:
          typeof dep === 'string'
            ? ['services', id, 'depends_on', i]
            : ['services', id, 'depends_on', i, 'on'],
        id: normalizeDependency(dep).to,
        kinds: ['services'],
      }),
    );
    add(['services', id, 'datasets'], s.datasets, ['datasets']);
    add(['services', id, 'probes'], s.probes, ['probes']);
    add(['services', id, 'vendor'], s.vendor, ['vendors']);
    add(['services', id, 'site'], s.site, ['sites']);
  }
  for (const [id, d] of entries(plan.datasets)) {
    add(['datasets', id, 'backup', 'repository'], d.backup?.repository, ['repositories']);
    add(['datasets', id, 'backup', 'copy_to'], d.backup?.copy_to, ['repositories']);
    add(['datasets', id, 'replication', 'site'], d.replication?.site, ['sites']);
    add(['datasets', id, 'replication', 'traffic'], d.replication?.traffic, ['traffic']);
    if (d.source?.type === 'external')
      add(['datasets', id, 'source', 'vendor'], d.source.vendor, ['vendors']);
  }
  for (const [id, r] of entries(plan.repositories)) add(['repositories', id, 'site'], r.site, ['sites']);
  for (const [id, p] of entries(plan.probes)) {
    if ('dataset' in p) add(['probes', id, 'dataset'], p.dataset, ['datasets']);
  }
  for (const [id, s] of entries(plan.scenarios)) {
    add(['scenarios', id, 'detect'], s.detect, ['probes']);
    if (s.affects !== 'all') add(['scenarios', id, 'affects'], s.affects, ['services']);
    add(['scenarios', id, 'runbooks'], s.runbooks, ['runbooks']);
  }
  for (const { step, path } of allSteps(plan)) {
    add([...path, 'owner'], step.owner, WHO);
    add([...path, 'sql', 'dataset'], step.sql?.dataset, ['datasets']);
    add([...path, 'restore', 'dataset'], step.restore?.dataset, ['datasets']);
    add([...path, 'failover', 'dataset'], step.failover?.dataset, ['datasets']);
    add([...path, 'switchover', 'dataset'], step.switchover?.dataset, ['datasets']);
    add([...path, 'check'], step.check, ['datasets']);
    add([...path, 'wait_for', 'probe'], step.wait_for?.probe, ['probes']);
    add([...path, 'approve', 'by'], step.approve?.by, WHO);
    add([...path, 'notify', 'template'], step.notify?.template, ['templates']);
    add([...path, 'notify', 'to'], step.notify?.to, ['stakeholders', 'channels', ...WHO]);
    add([...path, 'traffic', 'switch'], step.traffic?.switch, ['traffic']);
    add([...path, 'status_page', 'components'], step.status_page?.components, ['services']);
    add([...path, 'runbook'], step.runbook, ['runbooks']);
  }
  for (const [id, r] of entries(plan.roles)) {
    add(['roles', id, 'primary'], r.primary, ['people']);
    add(['roles', id, 'backup'], r.backup, ['people']);
  }
  for (const [id, t] of entries(plan.teams)) {
    add(['teams', id, 'lead'], t.lead, ['people']);
    add(['teams', id, 'members'], t.members, ['people']);
  }
  for (const [id, s] of entries(plan.stakeholders)) {
    add(['stakeholders', id, 'contacts'], s.contacts, WHO);
    // `status_page` names the plan's own status page, so external audiences can be reached through it.
    s.via?.forEach((via, i) => {
      if (!(via === 'status_page' && plan.status_page))
        add(['stakeholders', id, 'via', i], via, ['channels']);
    });
    add(['stakeholders', id, 'template'], s.template, ['templates']);
    add(['stakeholders', id, 'update_template'], s.update_template, ['templates']);
    add(['stakeholders', id, 'resolution_template'], s.resolution_template, ['templates']);
  }
  const page = plan.status_page;
  if (page) {
    add(['status_page', 'provider'], page.provider, ['channels']);
    add(['status_page', 'components'], page.components, ['services']);
    add(['status_page', 'approvals', 'by'], page.approvals?.by, WHO);
  }
  for (const [id, d] of entries(plan.drills)) {
    add(['drills', id, 'datasets'], d.datasets, ['datasets']);
    add(['drills', id, 'scenarios'], d.scenarios, ['scenarios']);
    add(['drills', id, 'runbook'], d.runbook, ['runbooks']);
    add(['drills', id, 'services'], d.services, ['services']);
  }
  plan.maintenance?.reviews?.forEach((review, i) =>
    add(['maintenance', 'reviews', i, 'owner'], review.owner, WHO),
  );
  return refs;
}

export const unknownReference: Rule = {
  id: 'unknown-reference',
  severity: 'error',
  summary: 'An id that is used but never declared (a typo, or a deleted entry).',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const ref of collectReferences(plan)) {
      if (ref.kinds.some((kind) => plan[kind]?.[ref.id] !== undefined)) continue;
      const known = ref.kinds.flatMap((kind) => Object.keys(plan[kind] ?? {}));
      const suggestion = closest(ref.id, known);
      const where = ref.kinds.join(' or ');
      hits.push({
        path: ref.path,
        message: `'${ref.id}' is not declared in ${where}`,
        hint: suggestion
          ? `did you mean '${suggestion}'?`
          : known.length > 0
            ? `known: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', ...' : ''}`
            : `declare it under ${ref.kinds[0]}`,
      });
    }
    return hits;
  },
};
