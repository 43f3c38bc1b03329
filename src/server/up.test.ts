/**
 * `lifeboat up` as a user runs it: the built CLI in a child process, on a free port, with a
 * copy of examples/local/lifeboat.yaml in a temporary directory (its state store goes there).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newestAudit, runCli, spawnCli, until, type Server } from './testing/cli.js';
import { freePort } from '../system/free-port.js';

const EXAMPLE = new URL('../../examples/local/lifeboat.yaml', import.meta.url);
const hasPromtool = spawnSync('promtool', ['--version']).error === undefined;

async function tokenOf(plan: string, role: string): Promise<string> {
  const created = await runCli(['token', 'create', '--role', role, '--json', '--plan', plan]);
  assert.equal(created.code, 0, created.stderr);
  const { token } = JSON.parse(created.stdout) as { token: string };
  assert.match(token, /^lbt_/);
  return token;
}

describe('lifeboat up', () => {
  let dir: string;
  let plan: string;
  let base: string;
  let server: Server;
  let admin: string;

  const post = (path: string, body: string, token?: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-up-test-'));
    plan = join(dir, 'lifeboat.yaml');
    copyFileSync(EXAMPLE, plan);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawnCli(['up', '--plan', plan, '--port', String(port)]);
    await until('/healthz', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined));
    admin = await tokenOf(plan, 'admin');
  });

  after(async () => {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // already gone: the SIGTERM test stopped it
    }
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  test('the checked path: healthz, page, summary, OpenAPI, metrics, a token, an incident shown escaped', async () => {
    const health = await fetch(`${base}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok', stateStore: { ok: true, backend: 'sqlite' } });

    const created = await post(
      '/api/v1/incidents',
      JSON.stringify({
        title: '<script>alert(1)</script> checkout down',
        status: 'investigating',
        message: 'we look',
      }),
      admin,
    );
    assert.equal(created.status, 201);
    const incident = (await created.json()) as { id: string; status: string; updates: unknown[] };
    assert.equal(incident.status, 'investigating');
    assert.equal(incident.updates.length, 1);

    const incidents = (await (await fetch(`${base}/api/v2/incidents.json`)).json()) as {
      page: { id: string };
      incidents: {
        id: string;
        name: string;
        status: string;
        impact: string;
        incident_updates: { body: string }[];
      }[];
    };
    const shown = incidents.incidents.find((i) => i.id === incident.id);
    assert.ok(shown, 'the incident is listed by /api/v2/incidents.json');
    assert.equal(shown.name, '<script>alert(1)</script> checkout down');
    assert.equal(shown.incident_updates[0]?.body, 'we look');

    const page = await fetch(`${base}/`);
    assert.match(String(page.headers.get('content-type')), /^text\/html/);
    const html = await page.text();
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; checkout down'));
    assert.ok(!html.includes('<script>'), 'no script tag reaches the page');

    const summary = (await (await fetch(`${base}/api/v2/summary.json`)).json()) as {
      page: Record<string, unknown>;
      status: { indicator: string; description: string };
      components: { id: string; status: string; group: boolean }[];
      incidents: { id: string }[];
      scheduled_maintenances: unknown[];
    };
    assert.deepEqual(Object.keys(summary.page).sort(), ['id', 'name', 'time_zone', 'updated_at', 'url']);
    assert.equal(summary.status.indicator, 'minor');
    assert.equal(summary.status.description, 'Minor Service Outage');
    const statuses = [
      'operational',
      'degraded_performance',
      'partial_outage',
      'major_outage',
      'under_maintenance',
    ];
    for (const c of summary.components) assert.ok(statuses.includes(c.status), `${c.id}: ${c.status}`);
    // Grouped by the plan's priorities, each group's members together, in plan order.
    assert.deepEqual(
      summary.components.map((c) => c.id),
      [
        'lifeboat-local-group-critical-services',
        'app',
        'postgres',
        'lifeboat-local-group-high-priority-services',
        'mariadb',
        'files',
        'lifeboat-local-group-medium-priority-services',
        'redis',
      ],
    );
    assert.ok(summary.incidents.some((i) => i.id === incident.id));

    const openapi = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.match(openapi.openapi, /^3\./);
    for (const path of [
      '/',
      '/healthz',
      '/metrics',
      '/history.atom',
      '/api/v1/openapi.json',
      '/api/v1/incidents',
      '/api/v1/incidents/{id}',
      '/api/v1/incidents/{id}/updates',
      '/api/v2/summary.json',
      '/api/v2/status.json',
      '/api/v2/components.json',
      '/api/v2/incidents.json',
      '/api/v2/incidents/unresolved.json',
    ])
      assert.ok(path in openapi.paths, `OpenAPI lists ${path}`);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^lifeboat_incidents_open 1$/m);
    assert.match(
      metrics,
      /^lifeboat_http_requests_total\{method="POST",route="\/api\/v1\/incidents",code="201"\} 1$/m,
    );
    assert.match(metrics, /^lifeboat_dataset_protected\{dataset="postgres"\} 1$/m);
  });

  test(
    '/metrics passes promtool check metrics',
    {
      skip:
        !hasPromtool && 'promtool is not installed (Debian package prometheus; scripts/setup.sh installs it)',
    },
    async () => {
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const checked = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
    },
  );

  test('writes need a token of role responder or above: none 401, viewer 403; refusals are audited', async () => {
    const body = JSON.stringify({ title: 't', message: 'm' });
    const none = await post('/api/v1/incidents', body);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="lifeboat"');
    assert.equal(((await none.json()) as { error: string }).error, 'unauthorized');
    assert.equal((await post('/api/v1/incidents', body, 'lbt_not-a-token')).status, 401);
    const viewer = await tokenOf(plan, 'viewer');
    const refused = await post('/api/v1/incidents', body, viewer);
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { message: string }).message, /viewer token may only read/);
    const audited = await newestAudit(plan, 'api.write');
    assert.equal(audited?.outcome, 'refused');
    // Reads need nothing.
    assert.equal((await fetch(`${base}/api/v1/incidents`)).status, 200);
    assert.equal((await fetch(`${base}/api/v2/status.json`)).status, 200);
  });

  test('malformed JSON, unknown fields, bad values, unknown services, oversized bodies: a 4xx that names the mistake', async () => {
    const cases: [string, number, RegExp][] = [
      ['{"title": "x",', 400, /not valid JSON/],
      ['{"title":"x","message":"m","severity":"high"}', 400, /additional properties: 'severity'/],
      ['{"title":"x","message":"m","status":"exploded"}', 400, /body\/status/],
      ['{"message":"m"}', 400, /title/],
      ['{"title":"   ","message":"m"}', 400, /body\/title/],
      ['{"title":"x","message":"m","services":["nope"]}', 400, /unknown service: nope/],
      [JSON.stringify({ title: 'x', message: 'm'.repeat(100_000) }), 400, /too large/],
    ];
    for (const [body, status, message] of cases) {
      const response = await post('/api/v1/incidents', body, admin);
      const answer = (await response.json()) as { message: string };
      assert.equal(response.status, status, body.slice(0, 60));
      assert.match(answer.message, message);
      assert.doesNotMatch(JSON.stringify(answer), /at .*\.js|node_modules|stack/);
    }
    assert.equal((await fetch(`${base}/api/v1/incidents/no-such-id`)).status, 404);
  });

  test('updates move the lifecycle to resolved; HTML in an update is escaped on the page and in the Atom feed', async () => {
    const created = await post(
      '/api/v1/incidents',
      JSON.stringify({ title: 'Database <b>slow</b>', message: 'looking', services: ['postgres'] }),
      admin,
    );
    const { id, impact, severity } = (await created.json()) as {
      id: string;
      impact: string;
      severity: string;
    };
    assert.equal(severity, 'critical', "postgres's priority in the plan");
    assert.equal(impact, 'critical');
    const components = (await (await fetch(`${base}/api/v2/components.json`)).json()) as {
      components: { id: string; status: string }[];
    };
    assert.equal(components.components.find((c) => c.id === 'postgres')?.status, 'major_outage');

    for (const status of ['identified', 'monitoring'])
      assert.equal(
        (
          await post(
            `/api/v1/incidents/${id}/updates`,
            JSON.stringify({ status, message: `<script>x()</script> ${status}` }),
            admin,
          )
        ).status,
        201,
      );
    const resolved = await post(
      `/api/v1/incidents/${id}/updates`,
      JSON.stringify({ status: 'resolved', message: 'fixed' }),
      admin,
    );
    const done = (await resolved.json()) as {
      status: string;
      resolvedAt: string;
      durationSeconds: number;
      updates: unknown[];
    };
    assert.equal(done.status, 'resolved');
    assert.ok(done.resolvedAt);
    assert.equal(typeof done.durationSeconds, 'number');
    assert.equal(done.updates.length, 4);
    assert.equal(
      (
        await post(
          `/api/v1/incidents/${id}/updates`,
          JSON.stringify({ status: 'monitoring', message: 'again' }),
          admin,
        )
      ).status,
      400,
      'a resolved incident takes no more updates',
    );
    assert.equal((await newestAudit(plan, 'incident.resolve'))?.target, `incident:${id}`);

    const html = await (await fetch(`${base}/`)).text();
    assert.ok(html.includes('&lt;script&gt;x()&lt;/script&gt; identified'));
    assert.ok(html.includes('Database &lt;b&gt;slow&lt;/b&gt;'));
    assert.ok(!html.includes('<script>') && !html.includes('<b>slow'));

    const atom = await fetch(`${base}/history.atom`);
    assert.match(String(atom.headers.get('content-type')), /^application\/atom\+xml/);
    const feed = await atom.text();
    assert.ok(feed.includes('&lt;script&gt;x()&lt;/script&gt; monitoring'));
    assert.ok(feed.includes('Database &lt;b&gt;slow&lt;/b&gt; (resolved)'));
    assert.ok(!feed.includes('<script>'));

    const unresolved = (await (await fetch(`${base}/api/v2/incidents/unresolved.json`)).json()) as {
      incidents: { id: string }[];
    };
    assert.ok(!unresolved.incidents.some((i) => i.id === id));
  });

  test('the CLI drives the same incidents: open, update, resolve, list', async () => {
    const opened = await runCli([
      'incident',
      'open',
      '--plan',
      plan,
      '--json',
      '--title',
      'From the CLI',
      '--message',
      'm',
      '--service',
      'redis',
    ]);
    assert.equal(opened.code, 0, opened.stderr);
    const { id, impact } = JSON.parse(opened.stdout) as { id: string; impact: string };
    assert.equal(impact, 'minor', "redis's priority is medium");
    assert.equal(
      (
        await runCli([
          'incident',
          'update',
          id,
          '--plan',
          plan,
          '--status',
          'identified',
          '--message',
          'found',
        ])
      ).code,
      0,
    );
    assert.equal((await runCli(['incident', 'resolve', id, '--plan', plan, '--message', 'done'])).code, 0);
    const listed = await runCli(['incident', 'list', '--plan', plan, '--json']);
    const { incidents } = JSON.parse(listed.stdout) as { incidents: { id: string; status: string }[] };
    assert.equal(incidents.find((i) => i.id === id)?.status, 'resolved');
    const served = (await (await fetch(`${base}/api/v1/incidents/${id}`)).json()) as { updates: unknown[] };
    assert.equal(served.updates.length, 3);
    const unknown = await runCli([
      'incident',
      'open',
      '--plan',
      plan,
      '--title',
      't',
      '--message',
      'm',
      '--service',
      'nope',
    ]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown service: nope/);
  });

  test('token list shows no secret; token revoke makes the token fail with 401', async () => {
    const created = await runCli([
      'token',
      'create',
      '--role',
      'responder',
      '--name',
      'ci',
      '--expires',
      '90d',
      '--json',
      '--plan',
      plan,
    ]);
    const { token, id, expiresAt } = JSON.parse(created.stdout) as {
      token: string;
      id: string;
      expiresAt: string;
    };
    assert.ok(Date.parse(expiresAt) > Date.now() + 89 * 86_400_000);
    const listed = await runCli(['token', 'list', '--json', '--plan', plan]);
    assert.ok(!listed.stdout.includes(token));
    assert.ok(listed.stdout.includes(id));
    assert.equal((await runCli(['token', 'revoke', id, '--plan', plan])).code, 0);
    assert.equal((await newestAudit(plan, 'token.revoke'))?.target, `token:${id}`);
    assert.equal(
      (await post('/api/v1/incidents', JSON.stringify({ title: 't', message: 'm' }), token)).status,
      401,
    );
  });

  test('a second lifeboat up on the same state store refuses, naming the first', async () => {
    const second = await runCli(['up', '--plan', plan, '--port', String(await freePort())]);
    assert.equal(second.code, 4);
    assert.match(second.stderr, new RegExp(`another lifeboat up already serves .* \\(pid ${server.pid} `));
  });

  test('SIGTERM stops it: exit 0', async () => {
    process.kill(server.pid, 'SIGTERM');
    assert.equal(await server.exited, 0);
    assert.ok(
      server.stdout.some((line) => /stopped$/.test(line)),
      server.stdout.join('\n'),
    );
    await assert.rejects(fetch(`${base}/healthz`));
  });
});
