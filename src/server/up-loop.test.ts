/**
 * The whole loop `lifeboat up` runs: a throwaway PostgreSQL killed, its probe notices, one
 * incident opens on the service that lists the probe, the plan's webhook stakeholder is told,
 * the status page and summary.json show the outage; PostgreSQL back, the incident moves to
 * monitoring and is resolved, the resolution is told, and the timeline holds every step.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { managedFromInstance } from '../respond/failover/server.js';
import { startPostgres } from '../stores/postgres/sandbox.js';
import { freePort } from '../system/free-port.js';
import { stopAll } from '../system/instance.js';
import { startReceiver } from '../notify/testing/receiver.js';
import { spawnCli, until } from './testing/cli.js';

after(() => stopAll());

interface Summary {
  components: { id: string; status: string }[];
  incidents: { id: string; name: string; status: string }[];
}

test('a killed PostgreSQL: probe, one incident, notices, page; back: monitoring, resolved', async (t) => {
  const pg = await startPostgres({ fast: true });
  const db = managedFromInstance(pg, { name: 'db' });
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-up-loop-'));
  const plan = join(dir, 'lifeboat.yaml');
  writeFileSync(
    plan,
    [
      'version: 1',
      'organization: Loop Test',
      'services:',
      '  db: { name: Database, priority: critical, probes: [db-up] }',
      'probes:',
      `  db-up: { type: postgres, url: "${pg.url}", every: 1s, timeout: 1s, failures: 2 }`,
      'channels:',
      `  hook: { type: webhook, name: Receiver, url: "${receiver.url}/hook" }`,
      'stakeholders:',
      '  on-call: { name: On-call, via: [hook], notify_at: [immediate, resolution] }',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawnCli(['up', '--plan', plan, '--port', String(port), '--resolve-after', '2s']);
  const summary = async () => (await (await fetch(`${base}/api/v2/summary.json`)).json()) as Summary;
  try {
    await until('/healthz', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined));
    // Up first: a probe's state is unknown until it has passed.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal((await summary()).incidents.length, 0);

    const killedAt = Date.now();
    await db.stop('immediate');
    const incident = await until('an incident', async () => (await summary()).incidents[0]);
    const noticed = (Date.now() - killedAt) / 1000;
    t.diagnostic(`killed to incident: ${noticed.toFixed(2)}s`);
    // interval × threshold + the probe's timeout + 1 s.
    assert.ok(noticed <= 1 * 2 + 1 + 1 + 0.5, `noticed after ${noticed}s`);
    assert.equal(incident.status, 'investigating');
    assert.match(incident.name, /db-up/);
    const during = await summary();
    assert.equal(during.components.find((c) => c.id === 'db')?.status, 'major_outage');
    assert.equal(during.incidents.length, 1, 'one outage, one incident');
    const page = await (await fetch(`${base}/`)).text();
    assert.match(page, /db-up/);
    const told = await until('the immediate notice', async () =>
      receiver.requests.find((r) => r.url === '/hook' && r.body.includes('db-up')),
    );
    assert.equal(told.method, 'POST');

    await db.start();
    const resolved = await until('the incident resolved', async () => {
      const response = await fetch(`${base}/api/v2/incidents.json`);
      const { incidents } = (await response.json()) as {
        incidents: { id: string; status: string; incident_updates: { status: string }[] }[];
      };
      const found = incidents.find((i) => i.id === incident.id);
      return found?.status === 'resolved' ? found : undefined;
    });
    const timeline = resolved.incident_updates.map((u) => u.status).reverse();
    assert.deepEqual(timeline, ['investigating', 'monitoring', 'resolved']);
    assert.equal((await summary()).components.find((c) => c.id === 'db')?.status, 'operational');
    await until('the resolution notice', async () =>
      receiver.requests.length >= 2 && receiver.requests.at(-1)!.body.includes('db-up') ? true : undefined,
    );
    assert.equal((await summary()).incidents.length, 0, 'no unresolved incident left');
    // The failed checks were recorded: today's bar on the page is below 100 %.
    const bar = await until(
      "today's uptime bar",
      async () =>
        /class="day day-(down|degraded)" title="(\d{4}-\d{2}-\d{2}: [\d.]+ %)"/.exec(
          await (await fetch(`${base}/`)).text(),
        )?.[2],
      30_000,
    );
    t.diagnostic(`uptime bar: ${bar}`);
  } finally {
    process.kill(server.pid, 'SIGTERM');
    await server.exited;
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
