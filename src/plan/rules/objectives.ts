/** Rules about the recovery targets themselves: a plan must say how fast and how much. */
import { effectiveRto } from '../graph.js';
import { entries, type Rule, type RuleHit } from './rule.js';

/** objective-missing: services but no RTO anywhere, or datasets but no RPO anywhere. */
export const objectiveMissing: Rule = {
  id: 'objective-missing',
  severity: 'warning',
  summary:
    'A plan with services but no RTO anywhere (or datasets but no RPO) promises nothing that can be checked or measured.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    const services = entries(plan.services);
    const datasets = entries(plan.datasets);
    if (services.length > 0 && !plan.objectives?.rto && !services.some(([, s]) => s.rto !== undefined))
      hits.push({
        path: ['services'],
        atKey: true,
        message: 'no RTO anywhere in the plan: nothing says how long a service may be down',
        hint: 'add `objectives: { rto: 4h }` for the whole plan, or an `rto` to each service',
      });
    if (datasets.length > 0 && !plan.objectives?.rpo && !datasets.some(([, d]) => d.rpo !== undefined))
      hits.push({
        path: ['datasets'],
        atKey: true,
        message: 'no RPO anywhere in the plan: nothing says how much data may be lost',
        hint: 'add `objectives: { rpo: 1h }` for the whole plan, or an `rpo` to each dataset',
      });
    return hits;
  },
};

/** scenario-service-without-rto: a scenario takes down a service whose recovery time is unstated. */
export const scenarioServiceWithoutRto: Rule = {
  id: 'scenario-service-without-rto',
  severity: 'warning',
  summary:
    'A scenario affects a service that has no RTO: nobody can tell whether its recovery is fast enough.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, scenario] of entries(plan.scenarios)) {
      const affects = scenario.affects;
      if (affects === undefined || affects === 'all') continue;
      affects.forEach((service, i) => {
        const declared = Object.hasOwn(plan.services ?? {}, service) ? plan.services![service] : undefined;
        // A third party's recovery is its vendor's to state (its SLA), as for dependency-without-rto.
        if (!declared || declared.external || effectiveRto(plan, service) !== undefined) return;
        hits.push({
          path: ['scenarios', id, 'affects', i],
          message: `scenario ${id} takes down ${service}, which has no RTO`,
          hint: `give services.${service} an \`rto\` (or set \`objectives.rto\`), so that the scenario's recovery can be checked against it`,
        });
      });
    }
    return hits;
  },
};
