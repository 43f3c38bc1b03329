/** The seeds' templates render, and the stakeholder matrix follows their notification tables. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { loadPlanFile } from '../plan/load.js';
import type { Plan } from '../plan/schema.js';
import { renderNotice } from './enqueue.js';
import type { IncidentFacts } from './incident.js';
import { dueNotices, planNotices } from './matrix.js';
import { incidentValues, NOT_KNOWN, renderTemplate } from './template.js';

const seed = (name: string): Plan => {
  const plan = loadPlanFile(
    fileURLToPath(new URL(`../../examples/${name}/lifeboat.yaml`, import.meta.url)),
  ).plan;
  assert.ok(plan, `${name} loads`);
  return plan;
};

const incident: IncidentFacts = {
  id: 'inc-7',
  title: 'Database unreachable',
  severity: 'critical',
  status: 'identified',
  services: ['api'],
  startedAt: '2026-05-01T10:00:00.000Z',
  resolvedAt: '2026-05-01T12:30:00.000Z',
  impact: 'Sign-in fails',
  scenario: 'database-loss',
  summary: 'Primary database lost',
  update: 'Failover done',
  updatedAt: '2026-05-01T11:00:00.000Z',
  nextSteps: 'Rebuild the standby',
  nextUpdateAt: '2026-05-01T11:30:00.000Z',
  eta: '12:30 UTC',
  commander: 'Ana',
  rootCause: 'Disk failure',
  resolution: 'Promoted the standby',
  prevention: 'Disk alerts',
  reviewAt: '2026-05-04T09:00:00.000Z',
  url: 'https://status.example.com/incidents/7',
};

describe('templates', () => {
  for (const name of ['opportunex', 'dating-profile-optimizer']) {
    test(`${name}: every template renders with no placeholder left`, () => {
      const plan = seed(name);
      const templates = Object.entries(plan.templates ?? {});
      assert.ok(templates.length >= 2);
      for (const [id, template] of templates) {
        const { subject, body } = renderTemplate(template, incidentValues(plan, incident), `templates.${id}`);
        for (const text of [subject, body]) {
          assert.doesNotMatch(text, /\{\{|\}\}/, `templates.${id}`);
          assert.doesNotMatch(text, /\[[A-Z][A-Za-z ]*\]/, `templates.${id}`);
          assert.ok(!text.includes(NOT_KNOWN), `templates.${id}: every fact is known`);
        }
        assert.match(subject, new RegExp(plan.organization));
      }
    });
  }

  test('opportunex: the initial notification reads as the seed wrote it', () => {
    const plan = seed('opportunex');
    const { body } = renderTemplate(
      plan.templates!['initial-incident-notification']!,
      incidentValues(plan, incident),
    );
    assert.match(body, /^Severity: critical$/m);
    assert.match(body, /^Start Time: 2026-05-01 10:00 UTC$/m);
    assert.match(body, /^Incident Commander: Ana$/m);
    assert.match(body, /^Next Update: 2026-05-01 11:30 UTC$/m);
  });

  test('a fact not known yet is said so; an unknown variable is refused', () => {
    const plan = seed('opportunex');
    const values = incidentValues(plan, { ...incident, eta: undefined });
    assert.equal(renderTemplate({ body: 'ETA {{ incident.eta }}' }, values).body, `ETA ${NOT_KNOWN}`);
    assert.throws(() => renderTemplate({ body: '{{incident.nope}}' }, values), /unknown variable/);
  });
});

describe('stakeholder matrix', () => {
  const open = { ...incident, resolvedAt: undefined, nextUpdateAt: undefined };

  test('opportunex: immediate, 15 min, 30 min, 1 h, 2 h; media only for a major incident', () => {
    const plan = seed('opportunex');
    const at = (n: ReturnType<typeof planNotices>) =>
      n.map((x) => `${x.stakeholder} ${x.checkpoint} ${x.kind} ${x.dueAt?.slice(11, 16) ?? '-'}`);
    assert.deepEqual(at(planNotices(plan, open, new Date(open.startedAt))), [
      'incident-commander immediate initial 10:00',
      'development-team 15m initial 10:15',
      'management 30m initial 10:30',
      'customer-support 1h initial 11:00',
      'users 1h initial 11:00',
      'partners 2h initial 12:00',
    ]);
    const major = planNotices(plan, { ...open, conditions: ['major incident'] }, new Date(open.startedAt));
    assert.deepEqual(at(major.filter((n) => n.stakeholder === 'media')), [
      'media immediate initial 10:00',
      'media resolution resolution -',
    ]);
    const due = dueNotices(
      planNotices(plan, open, new Date('2026-05-01T10:20:00Z')),
      new Date('2026-05-01T10:20:00Z'),
    );
    assert.deepEqual(
      due.map((n) => n.stakeholder),
      ['incident-commander', 'development-team'],
    );
  });

  test('opportunex: routes to the primary channels; email per person; the status page is not sent', () => {
    const plan = seed('opportunex');
    const notices = planNotices(plan, open, new Date(open.startedAt));
    const ic = notices.find((n) => n.stakeholder === 'incident-commander')!;
    // The role's primary person's email and phone are "[Email]" and "[Phone]" in the seed.
    assert.deepEqual(
      ic.routes.map((r) => [r.channel, r.address, r.fallback?.channel ?? null]),
      [
        ['slack', null, 'discord'],
        ['email', '[Email]', 'discord'],
        ['phone', '[Phone]', 'sms'],
      ],
    );
    const users = notices.find((n) => n.stakeholder === 'users')!;
    assert.deepEqual(users.routes, []);
    assert.match(users.unreachable.join(), /status page/);
  });

  test('dating-profile-optimizer: immediate, 1 h, 4 h and resolution, with the right templates', () => {
    const plan = seed('dating-profile-optimizer');
    const resolvedLate = { ...incident, resolvedAt: '2026-05-01T15:00:00.000Z' };
    const ceo = planNotices(plan, resolvedLate, new Date(resolvedLate.resolvedAt)).filter(
      (n) => n.stakeholder === 'ceo-cto',
    );
    assert.deepEqual(
      ceo.map((n) => [n.checkpoint, n.kind, n.dueAt]),
      [
        ['immediate', 'initial', '2026-05-01T10:00:00.000Z'],
        ['1h', 'update', '2026-05-01T11:00:00.000Z'],
        ['4h', 'update', '2026-05-01T14:00:00.000Z'],
        ['resolution', 'resolution', '2026-05-01T15:00:00.000Z'],
      ],
    );
    assert.equal(ceo[0]?.nextUpdateAt, '2026-05-01T11:00:00.000Z');
    // Resolved after 2h30: the 4h update is replaced by the resolution message.
    const marketing = planNotices(plan, incident, new Date(incident.resolvedAt!)).filter(
      (n) => n.stakeholder === 'marketing',
    );
    assert.deepEqual(
      marketing.map((n) => n.checkpoint),
      ['resolution'],
    );
    const users = planNotices(plan, open, new Date(open.startedAt)).find((n) => n.stakeholder === 'users')!;
    assert.equal(users.template, 'customer-initial-notification');
    const message = renderNotice(plan, open, users);
    assert.equal(message.subject, `Service Disruption - ${plan.organization}`);
    assert.equal(message.action, 'trigger');
  });

  test('update_every repeats updates until the resolution; severities filter rows', () => {
    const plan = {
      version: 1,
      organization: 'Acme',
      channels: { hook: { type: 'webhook', url: 'http://127.0.0.1:1' } },
      stakeholders: {
        execs: { notify_at: ['immediate', 'resolution'], update_every: '30m', severities: ['critical'] },
      },
    } as unknown as Plan;
    const notices = planNotices(plan, incident, new Date(incident.resolvedAt!));
    assert.deepEqual(
      notices.map((n) => n.dueAt?.slice(11, 16)),
      ['10:00', '10:30', '11:00', '11:30', '12:00', '12:30', '12:30'],
    );
    assert.deepEqual(planNotices(plan, { ...incident, severity: 'low' }, new Date()), []);
  });
});
