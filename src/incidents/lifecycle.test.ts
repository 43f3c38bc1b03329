/** The incident engine on a real SQLite state store in a temporary directory. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UsageError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import { openStateStore, type StateStore } from '../state/store.js';
import { buildStatusPage } from '../statuspage/build.js';
import {
  getIncident,
  IncidentNotFoundError,
  listIncidents,
  openIncident,
  resolveIncident,
  updateIncident,
} from './lifecycle.js';

const plan = {
  version: 1,
  organization: 'Shop',
  services: {
    api: { name: 'API', priority: 'critical' },
    search: { priority: 'medium' },
    docs: {},
  },
} as unknown as Plan;

describe('incident lifecycle', () => {
  let dir: string;
  let state: StateStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-incidents-test-'));
    state = await openStateStore({ path: join(dir, 'state.db'), env: {} });
  });
  after(async () => {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the impact follows the highest priority of the affected services', async () => {
    const deps = { state, plan };
    const critical = await openIncident(
      deps,
      { title: 't', message: 'm', services: ['search', 'api'] },
      'cli:test',
    );
    assert.equal(critical.severity, 'critical');
    assert.equal(critical.impact, 'critical');
    assert.equal(critical.status, 'investigating');
    assert.equal(
      (await openIncident(deps, { title: 't', message: 'm', services: ['search'] }, 'cli:test')).impact,
      'minor',
    );
    const none = await openIncident(deps, { title: 't', message: 'm', services: ['docs'] }, 'cli:test');
    assert.equal(none.severity, null);
    assert.equal(none.impact, 'minor');
    assert.equal(
      (await openIncident(deps, { title: 't', message: 'm', impact: 'none' }, 'cli:test')).impact,
      'none',
    );
    await assert.rejects(
      openIncident(deps, { title: 't', message: 'm', services: ['nope'] }, 'cli:test'),
      UsageError,
    );
  });

  test('updates build the timeline; resolving sets resolvedAt and the duration, then refuses more', async () => {
    const deps = { state, plan };
    const opened = await openIncident(
      deps,
      { title: 'API down', message: 'looking', services: ['api'] },
      'cli:alice',
    );
    await updateIncident(deps, opened.id, { status: 'identified', message: 'found' }, 'cli:bob');
    await updateIncident(deps, opened.id, { status: 'monitoring', message: 'fixed' }, 'cli:bob');
    const done = await resolveIncident(deps, opened.id, 'over', 'cli:bob');
    assert.deepEqual(
      done.updates.map((u) => [u.status, u.message, u.actor]),
      [
        ['investigating', 'looking', 'cli:alice'],
        ['identified', 'found', 'cli:bob'],
        ['monitoring', 'fixed', 'cli:bob'],
        ['resolved', 'over', 'cli:bob'],
      ],
    );
    assert.ok(done.resolvedAt && done.resolvedAt >= done.createdAt);
    assert.equal(typeof done.durationSeconds, 'number');
    await assert.rejects(
      updateIncident(deps, opened.id, { status: 'investigating', message: 'again' }, 'cli:bob'),
      /is resolved/,
    );
    await assert.rejects(getIncident(deps, 'missing'), IncidentNotFoundError);
    const audit = await state.listAudit({ target: `incident:${opened.id}` });
    assert.deepEqual(
      audit.map((a) => a.action),
      ['incident.resolve', 'incident.update', 'incident.update', 'incident.open'],
    );
    assert.ok((await listIncidents(deps, { open: false })).some((i) => i.id === opened.id));
    assert.ok(!(await listIncidents(deps, { open: true })).some((i) => i.id === opened.id));
  });

  test('the status page: an unresolved incident marks its components by impact; resolved ones are history', async () => {
    const model = buildStatusPage({
      plan,
      incidents: await listIncidents({ state }),
      publicUrl: 'https://status.example.com',
      since: '2026-01-01T00:00:00.000Z',
    });
    const status = Object.fromEntries(model.components.map((c) => [c.id, c.status]));
    // search is named by the critical incident on api too: the worst wins.
    assert.deepEqual(status, { api: 'major_outage', search: 'major_outage', docs: 'partial_outage' });
    assert.ok(
      model.components.every((c) => c.uptime.length === 0),
      'no availability is invented',
    );
    const firstResolved = model.incidents.findIndex((i) => i.resolvedAt !== null);
    assert.ok(model.incidents.slice(0, firstResolved).every((i) => i.resolvedAt === null));
    assert.ok(model.incidents.slice(firstResolved).every((i) => i.resolvedAt !== null));
  });
});
