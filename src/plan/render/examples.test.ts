/**
 * The rendered document of each customer plan carries every RTO and RPO row, scenario,
 * message template and contact of the seed document it came from.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { loadPlanFile } from '../load.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

const load = (name: string) => {
  const loaded = loadPlanFile(
    fileURLToPath(new URL(`../../../examples/${name}/lifeboat.yaml`, import.meta.url)),
  );
  assert.ok(loaded.plan);
  return { ...loaded, plan: loaded.plan };
};

/** Seed facts, as the seed documents write them. */
const SEEDS: Record<string, string[]> = {
  opportunex: [
    'Web Application',
    'API Gateway',
    'Search Service',
    'User Authentication',
    'Notifications',
    'AI Instructor',
    'User Data',
    'Opportunity Data',
    'Search Indices',
    'Application Logs',
    'System Metrics',
    'Single Service Failure',
    'Database Corruption',
    'Kubernetes Cluster Failure',
    'Data Center Outage',
    'Security Breach',
    'Third-party Service Failure',
    'INCIDENT ALERT - {{organization}}',
    'INCIDENT UPDATE - {{organization}}',
    'INCIDENT RESOLVED - {{organization}}',
    '[Name]',
    '[Phone]',
    '[Email]',
    'AWS',
    'OpenAI',
    'SendGrid',
    'Twilio',
    '99.9',
  ],
  'dating-profile-optimizer': [
    'Primary Data Center Failure',
    'Database Corruption',
    'Application Server Compromise',
    'Complete Infrastructure Loss',
    'Cyber Attack',
    'Service Disruption - {{organization}}',
    'Service Restored - {{organization}}',
    'Dear Valued User',
    '+1-555-0101',
    '+1-555-0102',
    '+1-555-0103',
    '+1-555-0201',
    '+1-555-0202',
    '+1-555-0203',
    '+1-555-0301',
    '+1-555-0302',
    '+1-555-0303',
    '+1-206-266-4064',
    '+1-844-732-3739',
    'us-east-1',
    'us-west-2',
    'eu-west-1',
  ],
};

describe('rendered example plans', () => {
  for (const name of Object.keys(SEEDS)) {
    test(`${name}: every row, scenario, template and contact is in the document`, () => {
      const loaded = load(name);
      const markdown = renderMarkdown(loaded);
      const html = renderHtml(loaded);
      const { plan } = loaded;
      const expected = [
        ...SEEDS[name]!,
        ...Object.values(plan.services ?? {}).flatMap((s) => (s.name ? [s.name] : [])),
        ...Object.values(plan.datasets ?? {}).flatMap((d) => (d.name ? [d.name] : [])),
        ...Object.values(plan.scenarios ?? {}).flatMap((s) =>
          [s.name, s.description, s.impact].filter((x): x is string => !!x),
        ),
        ...Object.values(plan.templates ?? {}).flatMap((t) =>
          t.body.split('\n').filter((line) => line.trim() !== ''),
        ),
        ...Object.values(plan.people ?? {}).flatMap((p) =>
          [p.name, p.phone, p.email].filter((x): x is string => !!x),
        ),
        ...Object.values(plan.vendors ?? {}).flatMap((v) =>
          [v.name, v.support_phone].filter((x): x is string => !!x),
        ),
      ];
      for (const text of expected)
        assert.ok(markdown.includes(text), `markdown lacks ${JSON.stringify(text)}`);
      const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      for (const text of SEEDS[name]!) {
        const plain = html.replace(/&#39;/g, "'").replace(/&quot;/g, '"');
        assert.ok(plain.includes(escape(text)), `html lacks ${JSON.stringify(text)}`);
      }
      assert.match(markdown, /sha256:[0-9a-f]{12}/);
    });
  }
});
