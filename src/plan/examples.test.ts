/**
 * The example plans are our first customers' DR documents. `plan check` must report every
 * real inconsistency of each seed document and nothing else; the local plan must be clean.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { checkPlanFile } from './check.js';

const example = (name: string) =>
  fileURLToPath(new URL(`../../examples/${name}/lifeboat.yaml`, import.meta.url));
const NOW = new Date('2026-11-23T00:00:00Z');

function findings(name: string): string[] {
  const result = checkPlanFile(example(name), NOW);
  assert.ok(result.loaded.plan, `the schema accepts ${name}: ${JSON.stringify(result.errors.slice(0, 3))}`);
  return [...result.errors, ...result.warnings].map((f) => `${f.rule} ${f.path}`).sort();
}

describe('example plans', () => {
  test('local: no findings', () => {
    assert.deepEqual(findings('local'), []);
  });

  test("opportunex: exactly the seed document's inconsistencies", () => {
    const expected = [
      // Web Application (4h, critical) depends on the search service, whose RTO is 6h.
      ['rto-inversion', 'services.web-app.depends_on[2]'],
      // Search indices: RPO 6h, backed up daily.
      ['rpo-cadence', 'datasets.search-indices.backup.every'],
      // Opportunity data every 4h for a 4h RPO; logs daily for a 24h RPO.
      ['rpo-no-margin', 'datasets.opportunity-data.backup.every'],
      ['rpo-no-margin', 'datasets.application-logs.backup.every'],
      // User data is only replicated, yet the corruption scenario restores it from backups.
      ['replication-only', 'datasets.user-data.replication'],
      ['drill-without-backup', 'drills.database-recovery.datasets[0]'],
      // Backups promised for data whose location the plan never gives.
      ['backup-without-source', 'datasets.search-indices.backup'],
      ['backup-without-source', 'datasets.application-logs.backup'],
      // The RTO table has no row for the stores the 1h-4h services depend on.
      ['dependency-without-rto', 'services.postgres'],
      ['dependency-without-rto', 'services.redis'],
      // Scenario estimates beyond the RTOs of what they take down, and beyond 99.9 %.
      ['scenario-exceeds-rto', 'scenarios.database-corruption.estimated_recovery'],
      ['scenario-exceeds-rto', 'scenarios.kubernetes-cluster-failure.estimated_recovery'],
      ['scenario-exceeds-rto', 'scenarios.data-center-outage.estimated_recovery'],
      ['scenario-exceeds-rto', 'scenarios.security-breach.estimated_recovery'],
      ['availability-budget', 'scenarios.data-center-outage.estimated_recovery'],
      ['availability-budget', 'scenarios.security-breach.estimated_recovery'],
      // No test in the schedule exercises a third-party outage.
      ['scenario-not-drilled', 'scenarios.third-party-service-failure'],
      // Appendix A and B are all placeholders, and so is the approver.
      ['placeholder', 'document'],
      ...['incident-commander', 'technical-lead', 'database-admin', 'security-lead', 'management'].flatMap(
        (role) => [
          ['placeholder', `people.${role}-primary`],
          ['placeholder', `people.${role}-secondary`],
        ],
      ),
      ...['aws', 'openai', 'sendgrid', 'twilio'].map((vendor) => ['placeholder', `vendors.${vendor}`]),
      // Partners are to be emailed and the media informed, through no channel or address.
      ['stakeholder-unreachable', 'stakeholders.partners'],
      ['stakeholder-unreachable', 'stakeholders.media'],
      // The seed names these teams as recipients but lists nobody in them and no channel.
      ['team-unreachable', 'stakeholders.customer-support.contacts[0]'],
      ['team-unreachable', 'stakeholders.development-team.contacts[0]'],
      // Next review March 2024.
      ['review-overdue', 'document.next_review'],
    ].map(([rule, path]) => `${rule} ${path}`);
    assert.deepEqual(findings('opportunex'), expected.sort());
  });

  test("dating-profile-optimizer: exactly the seed document's inconsistencies", () => {
    const expected = [
      // A daily logical dump cannot meet a 15-minute RPO (replication does not undo a bad write).
      ['rpo-cadence', 'datasets.database.backup.every'],
      // Media files, dashboards and Redis are only replicated.
      ['replication-only', 'datasets.file-storage.replication'],
      ['replication-only', 'datasets.monitoring-dashboards.replication'],
      ['replication-only', 'datasets.redis.replication'],
      // Scenarios 3 and 5 have a recovery method but no procedure and no test; the decision
      // matrix's API timeout and DB connection loss have no procedure.
      ['scenario-no-runbook', 'scenarios.application-server-compromise'],
      ['scenario-not-drilled', 'scenarios.application-server-compromise'],
      ['scenario-no-runbook', 'scenarios.cyber-attack-ransomware'],
      ['scenario-not-drilled', 'scenarios.cyber-attack-ransomware'],
      ['scenario-no-runbook', 'scenarios.api-timeout'],
      ['scenario-no-runbook', 'scenarios.db-connection-loss'],
      // Estimates beyond the 4-hour RTO and the 99.9 % budget.
      ['scenario-exceeds-rto', 'scenarios.application-server-compromise.estimated_recovery'],
      ['scenario-exceeds-rto', 'scenarios.complete-infrastructure-loss.estimated_recovery'],
      ['scenario-exceeds-rto', 'scenarios.cyber-attack-ransomware.estimated_recovery'],
      ['availability-budget', 'scenarios.complete-infrastructure-loss.estimated_recovery'],
      // Team leads with no contact details; users promised updates through no channel.
      ['unreachable-person', 'people.senior-full-stack-engineer'],
      ['unreachable-person', 'people.product-manager'],
      ['stakeholder-unreachable', 'stakeholders.users'],
      ['team-unreachable', 'stakeholders.customer-success.contacts[0]'],
      ['team-unreachable', 'stakeholders.engineering-team.contacts[0]'],
      ['team-unreachable', 'stakeholders.legal-compliance.contacts[0]'],
      ['team-unreachable', 'stakeholders.marketing.contacts[0]'],
      ['team-unreachable', 'stakeholders.product-team.contacts[0]'],
      // Next review April 2024.
      ['review-overdue', 'document.next_review'],
    ].map(([rule, path]) => `${rule} ${path}`);
    assert.deepEqual(findings('dating-profile-optimizer'), expected.sort());
  });
});
