import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePlan } from '../load.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { RenderInput } from './model.js';

function load(yaml: string): RenderInput {
  const loaded = parsePlan(yaml, '/plans/lifeboat.yaml');
  assert.ok(loaded.plan, `the schema rejected the fixture: ${JSON.stringify(loaded.findings)}`);
  return { plan: loaded.plan, contentHash: loaded.contentHash, file: loaded.file };
}

const PLAN = `
version: 1
organization: Acme
document:
  version: 2.1
  owner: devops
  approved_by: CTO
  last_updated: 2024-01
  next_review: 2024-04-15
  summary: Restores the Acme platform after a disaster.
  scope: [Web application, Databases]
objectives:
  availability: 99.9%
  latency: { p95: 2s }
  rto: 4h
  rpo: 15m
services:
  web: { name: Web Application, rto: 4h, priority: critical, depends_on: [api, { on: ai, soft: true }] }
  api: { name: API Gateway, rto: 2h, priority: critical, depends_on: [db, cache] }
  db: { name: PostgreSQL, rto: 1h, priority: critical, datasets: [users] }
  cache: { name: Redis | cache, rto: 3h, priority: high }
  ai: { name: OpenAI API, external: true }
datasets:
  users:
    name: User data
    rpo: 1h
    source: { type: postgres, url: env:DATABASE_URL }
    backup: { every: 4h, method: physical, repository: offsite }
    replication: { standby: replica-1, mode: async, max_lag: 30s }
    retention: { last: 3, daily: 7 }
  logs: { name: Application logs, rpo: 24h, backup: { every: daily } }
repositories:
  offsite: { url: "s3:https://s3.example.com/backups", password: env:RESTIC_PASSWORD }
scenarios:
  db-loss:
    name: Database Corruption/Loss
    description: PostgreSQL corruption or complete data loss
    impact: Complete service unavailability
    probability: medium
    detection: Database health checks
    decision: [approval, full-dr]
    estimated_recovery: 1h..3h
    runbooks: [restore-db]
  api-timeout: { name: API Timeout, decision: automatic }
runbooks:
  restore-db:
    name: Restore the database
    phases:
      - name: Assessment
        timebox: 0m..30m
        steps:
          - { name: Check the primary, run: "pg_isready -h primary" }
          - approve: { by: [incident-commander], count: 2 }
      - name: Recovery
        timebox: 30m..4h
        steps:
          - restore: { dataset: users }
          - traffic: { switch: lb, weights: [10, 35, 100], interval: 30m }
          - { name: Database recovery checklist, checklist: [Identify backup timestamp, Validate data integrity] }
traffic:
  lb: { type: haproxy }
people:
  alice: { name: Alice Martin, title: DevOps Lead, phone: "+1-555-0101", email: alice@example.com, on_call: primary }
  bob: { name: Bob Stone, phone: env:BOB_PHONE, on_call: secondary }
roles:
  incident-commander: { name: Incident Commander, primary: alice, backup: bob, responsibilities: [Decision making] }
teams:
  devops: { name: DevOps Team, lead: alice }
vendors:
  aws: { name: AWS, service: Cloud infrastructure, support_phone: "+1-206-266-4064" }
channels:
  slack: { type: slack, target: "#incident-response" }
  whatsapp: { type: whatsapp, tier: backup, target: Emergency group }
stakeholders:
  execs: { name: CEO/CTO, notify_at: [immediate, 1h, resolution] }
  dev: { name: Development Team, notify_at: [15m, resolution] }
templates:
  initial:
    name: Initial Notification
    subject: Service Disruption - Acme
    body: |
      INCIDENT ALERT - Acme

      Severity: {{incident.severity}}
      \`\`\`
      a fence inside the template
      \`\`\`
status_page: { url: "https://status.example.com", manual_override: true }
drills:
  restore-monthly: { name: Backup validation, kind: restore, every: monthly, datasets: [users] }
  region-yearly: { name: Regional failover, kind: failover, every: yearly }
  restart-monthly: { name: Service restart, kind: runbook, every: monthly }
testing:
  success_criteria: [rto_met, rpo_met]
  record: [Test date and time, Participants]
maintenance:
  reviews: [{ every: quarterly, tasks: [Review RTO/RPO targets] }]
  change_management: [Be approved by management]
flags:
  AI_PROVIDER: { default: primary, description: Which AI provider answers }
`;

describe('renderMarkdown', () => {
  const input = load(PLAN);
  const md = renderMarkdown(input);

  test('title, metadata and the stamp with the plan hash and document version', () => {
    assert.match(md, /^# Acme Disaster Recovery Plan\n/);
    assert.ok(md.includes('- **Document version**: 2.1'));
    assert.ok(md.includes('- **Owner**: DevOps Team'));
    assert.ok(md.includes('- **Next review**: 2024-04-15'));
    assert.ok(
      md.includes(
        `Generated from lifeboat.yaml, plan content hash sha256:${input.contentHash.slice(0, 12)}, document version 2.1`,
      ),
    );
    assert.ok(md.includes('## Table of Contents\n\n1. [Executive Summary](#executive-summary)'));
  });

  test('one RTO row per service and one RPO row per dataset, cells escaped', () => {
    assert.ok(md.includes('| Web Application | 4 hours | Critical | API Gateway, OpenAI API (soft) |'));
    assert.ok(md.includes('| API Gateway | 2 hours | Critical | PostgreSQL, Redis \\| cache |'));
    assert.ok(md.includes('| PostgreSQL | 1 hour | Critical |  |'));
    assert.ok(md.includes('| Redis \\| cache | 3 hours | High |  |'));
    assert.ok(md.includes('| OpenAI API (external) | 4 hours (plan default) |  |  |'));
    assert.ok(
      md.includes(
        '| Dataset | RPO | Source | Backup frequency | Method | Replication | Repository | Retention |',
      ),
    );
    assert.ok(
      md.includes(
        '| User data | 1 hour | PostgreSQL | Every 4 hours | Physical (pgBackRest) with WAL archiving | Streaming replication to replica-1 (async, max lag 30 seconds) | offsite | last 3, 7 daily |',
      ),
    );
    assert.ok(md.includes('| Application logs | 1 day |  | Daily | Logical dump |  | local | default |'));
  });

  test('every scenario with its fields, and the decision matrix', () => {
    assert.ok(md.includes('### Scenario 1: Database Corruption/Loss'));
    assert.ok(md.includes('- **Impact**: Complete service unavailability'));
    assert.ok(md.includes('- **Probability**: Medium'));
    assert.ok(md.includes('- **Estimated recovery**: 1–3 hours'));
    assert.ok(md.includes('- **Runbooks**: [Restore the database](#restore-the-database)'));
    assert.ok(md.includes('### Scenario 2: API Timeout'));
    assert.ok(md.includes('| Scenario | Automatic | Approval | Full DR |'));
    assert.ok(md.includes('| [Database Corruption/Loss](#scenario-1-database-corruptionloss) | - | ✓ | ✓ |'));
    assert.ok(md.includes('| [API Timeout](#scenario-2-api-timeout) | ✓ | - | - |'));
  });

  test('runbooks: phases with time boxes, numbered steps, commands in bash blocks, checklists', () => {
    assert.ok(md.includes('#### Phase 1: Assessment (0–30 minutes)'));
    assert.ok(md.includes('#### Phase 2: Recovery (30 minutes – 4 hours)'));
    assert.ok(md.includes('1. **Check the primary**\n   ```bash\n   pg_isready -h primary\n   ```'));
    assert.ok(md.includes('2. **Approval required**: 2 approvals from Incident Commander'));
    assert.ok(md.includes('1. Restore **User data** from the latest backup'));
    assert.ok(md.includes('in stages 10% → 35% → 100%, 30 minutes apart'));
    assert.ok(md.includes('   - [ ] Identify backup timestamp\n   - [ ] Validate data integrity'));
  });

  test('templates verbatim in a fence longer than any fence inside them', () => {
    const body = input.plan.templates!.initial!.body.trimEnd();
    assert.ok(md.includes('````text\nSubject: Service Disruption - Acme\n\n' + body + '\n````'));
  });

  test('the stakeholder matrix has one column per checkpoint, in time order', () => {
    assert.ok(md.includes('| Stakeholder | Immediate | 15 minutes | 1 hour | Resolution |'));
    assert.ok(md.includes('| CEO/CTO | ✓ | - | ✓ | ✓ |'));
    assert.ok(md.includes('| Development Team | - | ✓ | - | ✓ |'));
    assert.ok(md.includes('#### Primary Channels\n\n- **Slack**: #incident-response'));
    assert.ok(md.includes('#### Backup Channels\n\n- **WhatsApp**: Emergency group'));
  });

  test('contacts, people on call and vendors; secret references are shown as references', () => {
    assert.ok(md.includes('| Role | Primary | Backup | Phone | Email |'));
    assert.ok(
      md.includes('| Incident Commander | Alice Martin | Bob Stone | +1-555-0101 | alice@example.com |'),
    );
    assert.ok(md.includes('- **DevOps Lead** (Alice Martin): +1-555-0101, alice@example.com'));
    assert.ok(md.includes('- **Bob Stone**: kept in `env:BOB_PHONE`'));
    assert.ok(md.includes('| AWS | Cloud infrastructure | +1-206-266-4064 |'));
  });

  test('drills grouped by cadence, most frequent first; test records and success criteria', () => {
    const monthly = md.indexOf('#### Monthly Tests');
    const yearly = md.indexOf('#### Yearly Tests');
    assert.ok(monthly > 0 && yearly > monthly);
    assert.ok(md.slice(monthly, yearly).includes('**Backup validation** (restore test)'));
    assert.ok(md.slice(monthly, yearly).includes('**Service restart** (runbook exercise)'));
    assert.ok(md.includes('- Recovery completes within RTO targets'));
    assert.ok(md.includes('- **Participants**'));
    assert.ok(md.includes('#### Quarterly Reviews\n\n- Review RTO/RPO targets'));
  });

  test('the dependency graph as Mermaid, soft dependencies dotted', () => {
    const mermaid = /```mermaid\n([\s\S]*?)\n```/.exec(md)?.[1];
    assert.ok(mermaid, 'no mermaid block');
    assert.match(mermaid, /^graph TB\n/);
    assert.ok(mermaid.includes('svc_web --> svc_api'));
    assert.ok(mermaid.includes('svc_web -.-> svc_ai'));
    assert.ok(mermaid.includes('svc_api --> svc_db'));
    assert.ok(mermaid.includes('svc_api --> svc_cache'));
    assert.ok(mermaid.includes('svc_ai(["OpenAI API"])'));
    assert.ok(mermaid.includes('svc_db --> ds_users[("User data")]'));
  });

  test('recovery order in waves and chains whose RTO sum exceeds the service RTO are flagged', () => {
    assert.ok(
      md.includes(
        '1. **Wave 1**: PostgreSQL, Redis | cache, OpenAI API\n2. **Wave 2**: API Gateway\n3. **Wave 3**: Web Application',
      ),
    );
    assert.ok(
      md.includes('| API Gateway | API Gateway → Redis \\| cache | `5h` | `2h` | **EXCEEDS** by 3 hours |'),
    );
    assert.ok(md.includes('| PostgreSQL | PostgreSQL | `1h` | `1h` | within |'));
  });

  test('feature flags', () => {
    assert.ok(md.includes('| `AI_PROVIDER` | `primary` | Which AI provider answers |'));
  });

  test('is deterministic', () => {
    assert.equal(renderMarkdown(load(PLAN)), md);
  });

  test('sections the plan leaves empty are skipped', () => {
    const minimal = renderMarkdown(load('version: 1\norganization: Tiny\n'));
    assert.deepEqual(
      minimal.split('\n').filter((line) => line.startsWith('#')),
      ['# Tiny Disaster Recovery Plan'],
    );
    assert.ok(minimal.includes('plan content hash sha256:'));
    assert.ok(!minimal.includes('document version'));
  });

  test('raw HTML, pipes and line breaks from the plan cannot break the Markdown', () => {
    const md2 = renderMarkdown(
      load(`
version: 1
organization: Acme
services:
  web: { name: "<img src=x onerror=alert(1)>", rto: 1h }
scenarios:
  s: { name: "a | b", decision: automatic, impact: "line one\\nline two" }
`),
    );
    assert.ok(!md2.includes('<img'));
    assert.ok(md2.includes('&lt;img src=x onerror=alert(1)>'));
    assert.ok(md2.includes('| [a \\| b](#scenario-1-a--b) | ✓ | - | - |'));
    assert.ok(md2.includes('- **Impact**: line one\n  line two'));
  });
});

describe('renderHtml', () => {
  const hostile = load(`
version: 1
organization: "Acme <script>alert('org')</script>"
document: { summary: "Use \`lifeboat\` & <b>stay calm</b>" }
services:
  web: { name: "<script>alert(1)</script>", rto: 1h, depends_on: [db] }
  db: { rto: 30m }
templates:
  t: { subject: "<i>subject</i>", body: "</code></pre><script>x()</script>" }
status_page: { url: "javascript:alert(1)" }
`);
  const html = renderHtml(hostile);

  test('is a standalone HTML5 document with an inline stylesheet and no script', () => {
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.ok(html.includes('<meta charset="utf-8">'));
    assert.ok(html.includes('<style>'));
    assert.ok(html.trimEnd().endsWith('</html>'));
    assert.ok(!/<script/i.test(html), 'a <script> from the plan reached the HTML');
    assert.ok(!html.includes('<b>') && !html.includes('<i>'));
  });

  test('escapes everything that comes from the plan', () => {
    assert.ok(
      html.includes(
        '<title>Acme &lt;script&gt;alert(&#39;org&#39;)&lt;/script&gt; Disaster Recovery Plan</title>',
      ),
    );
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('Use <code>lifeboat</code> &amp; &lt;b&gt;stay calm&lt;/b&gt;'));
    assert.ok(html.includes('&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;x()&lt;/script&gt;'));
    assert.ok(!html.includes('href="javascript:'));
  });

  test('carries the same sections as the Markdown, the hash stamp and the Mermaid graph', () => {
    const full = load(PLAN);
    const page = renderHtml(full);
    assert.ok(page.includes(`sha256:${full.contentHash.slice(0, 12)}, document version 2.1`));
    assert.ok(page.includes('<h2 id="recovery-objectives">Recovery Objectives</h2>'));
    assert.ok(page.includes('<td>Redis | cache</td>'));
    assert.ok(page.includes('<pre><code class="language-bash">pg_isready -h primary</code></pre>'));
    assert.ok(page.includes('<li><label><input type="checkbox"> Identify backup timestamp</label></li>'));
    assert.ok(page.includes('<a href="#restore-the-database">Restore the database</a>'));
    const mermaid = /<pre class="mermaid">([\s\S]*?)<\/pre>/.exec(page)?.[1];
    assert.ok(mermaid, 'no mermaid block');
    assert.ok(mermaid.startsWith('graph TB\n'));
    assert.ok(mermaid.includes('svc_web --&gt; svc_api'));
    assert.ok(mermaid.includes('svc_web -.-&gt; svc_ai'));
  });
});

describe('conditional steps', () => {
  test("a step's `when` is rendered with it, never as an unconditional command", () => {
    const input = load(`
version: 1
organization: Acme
runbooks:
  tidy:
    name: Tidy up
    steps:
      - name: Delete the broken volume
        when: if the restore into the new volume was verified
        run: kubectl delete pvc data-old -n prod
`);
    const md = renderMarkdown(input);
    assert.match(
      md,
      /\*\*Condition:\*\* if the restore into the new volume was verified — \*\*Delete the broken volume\*\*/,
    );
    assert.match(
      renderHtml(input),
      /<strong>Condition:<\/strong> if the restore into the new volume was verified — <strong>Delete the broken volume<\/strong>/,
    );
  });
});
