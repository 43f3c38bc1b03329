/**
 * The outbox against local receivers: retries until delivered once, Retry-After, the
 * fallback, and a worker process SIGKILLed with 100 messages that delivers all of them
 * after a restart, none twice to a receiver that honours the idempotency key.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import type { Plan } from '../plan/schema.js';
import { openStateStore, type StateStore } from '../state/store.js';
import { planChannels } from './plan-channels.js';
import { startReceiver, type Answer, type ReceivedRequest, type Receiver } from './testing/receiver.js';
import { runOutboxWorker, type DeliveryEvent } from './worker.js';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-outbox-'));
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function fresh(): Promise<StateStore> {
  const store = await openStateStore({
    path: join(dir, `${Math.random().toString(36).slice(2)}.db`),
    env: {},
  });
  cleanups.push(() => store.close());
  return store;
}

async function receiver(answer?: (request: ReceivedRequest, index: number) => Answer): Promise<Receiver> {
  const r = await startReceiver(answer);
  cleanups.push(() => r.close());
  return r;
}

const hooks = (urls: Record<string, string>) =>
  ({
    version: 1,
    organization: 'Test',
    channels: Object.fromEntries(Object.entries(urls).map(([id, url]) => [id, { type: 'webhook', url }])),
  }) as unknown as Plan;

/** Runs a worker until `done` holds, then stops it through its AbortSignal. */
async function runUntil(
  store: StateStore,
  plan: Plan,
  done: () => Promise<boolean>,
  events: DeliveryEvent[] = [],
) {
  const controller = new AbortController();
  const worker = runOutboxWorker({
    outbox: store.outbox,
    channels: planChannels(plan, '.'),
    signal: controller.signal,
    pollMs: 20,
    maxAttempts: 8,
    backoff: { baseMs: 20, maxMs: 100 },
    onEvent: (event) => events.push(event),
  });
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, `timed out: ${JSON.stringify(events.slice(-3))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  controller.abort();
  await worker;
}

const message = { subject: 'DB down', body: 'PostgreSQL is unreachable' };

describe('outbox worker', () => {
  test('a receiver that fails 5 times then succeeds gets the message once, with the same key', async () => {
    const store = await fresh();
    const r = await receiver((_req, i) => (i < 5 ? { status: 503 } : { status: 200 }));
    const { message: queued } = await store.outbox.enqueue({
      idempotencyKey: 'k-retry',
      route: { channel: 'hook', address: null },
      message,
    });
    await runUntil(
      store,
      hooks({ hook: r.url }),
      async () => (await store.outbox.get(queued.id))?.status === 'delivered',
    );
    assert.equal(r.requests.length, 6);
    assert.deepEqual(new Set(r.requests.map((q) => q.headers['idempotency-key'])), new Set(['k-retry']));
    const log = await store.outbox.attempts(queued.id);
    assert.deepEqual(
      log.map((a) => [a.outcome, a.statusCode]),
      [...Array.from({ length: 5 }, () => ['retry', 503]), ['delivered', null]],
    );
    // Exponential: each wait at least half the growing ceiling (20, 40, 80, 100, 100 ms).
    const gaps = r.requests.slice(1).map((q, i) => q.at - r.requests[i]!.at);
    gaps.forEach((gap, i) => assert.ok(gap >= Math.min(100, 20 * 2 ** i) / 2 - 5, `gap ${i}: ${gap} ms`));
  });

  test("the provider's Retry-After is honoured", async () => {
    const store = await fresh();
    const r = await receiver((_req, i) =>
      i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const { message: queued } = await store.outbox.enqueue({
      idempotencyKey: 'k-429',
      route: { channel: 'hook', address: null },
      message,
    });
    await runUntil(
      store,
      hooks({ hook: r.url }),
      async () => (await store.outbox.get(queued.id))?.status === 'delivered',
    );
    assert.equal(r.requests.length, 2);
    assert.ok(r.requests[1]!.at - r.requests[0]!.at >= 1000, 'waited the second Retry-After asked for');
    assert.equal((await store.outbox.attempts(queued.id))[0]?.retryAfterMs, 1000);
  });

  test('a refusal moves the message to its fallback channel, with its own key', async () => {
    const store = await fresh();
    const primary = await receiver(() => ({ status: 400, body: 'bad payload' }));
    const backup = await receiver();
    const { message: queued } = await store.outbox.enqueue({
      idempotencyKey: 'k-main',
      route: { channel: 'main', address: null },
      fallback: { route: { channel: 'backup', address: null }, idempotencyKey: 'k-backup' },
      message,
    });
    await runUntil(
      store,
      hooks({ main: primary.url, backup: backup.url }),
      async () => (await store.outbox.get(queued.id))?.status === 'delivered',
    );
    assert.equal(primary.requests.length, 1);
    assert.equal(backup.requests[0]?.headers['idempotency-key'], 'k-backup');
    const log = await store.outbox.attempts(queued.id);
    assert.deepEqual(
      log.map((a) => [a.channel, a.outcome]),
      [
        ['main', 'fallback'],
        ['backup', 'delivered'],
      ],
    );
  });

  test('enqueueing the same key twice keeps one message', async () => {
    const store = await fresh();
    const input = { idempotencyKey: 'k-once', route: { channel: 'hook', address: null }, message };
    assert.equal((await store.outbox.enqueue(input)).created, true);
    assert.equal((await store.outbox.enqueue(input)).created, false);
    assert.equal((await store.outbox.list()).length, 1);
  });

  test('two processes claiming at once get disjoint messages; an expired lease is claimed again', async () => {
    const path = join(dir, 'claims.db');
    const [a, b] = [await openStateStore({ path, env: {} }), await openStateStore({ path, env: {} })];
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    for (let i = 0; i < 10; i++)
      await a.outbox.enqueue({
        idempotencyKey: `c-${i}`,
        route: { channel: 'hook', address: null },
        message,
      });
    const [x, y] = await Promise.all([
      a.outbox.claimDue({ leaseMs: 60_000, limit: 10 }),
      b.outbox.claimDue({ leaseMs: 60_000, limit: 10 }),
    ]);
    assert.equal(x.length + y.length, 10);
    assert.equal(new Set([...x, ...y].map((m) => m.id)).size, 10);
    const later = new Date(Date.now() + 61_000).toISOString();
    assert.equal((await b.outbox.claimDue({ leaseMs: 60_000, limit: 10, now: later })).length, 10);
    // The first holder's lease is gone: what it records now is refused.
    const stale = [...x, ...y][0]!;
    assert.equal(
      await a.outbox.recordAttempt(stale.id, stale.leaseToken!, { startedAt: later }, { outcome: 'failed' }),
      false,
    );
  });

  test('a worker process SIGKILLed with 100 messages: all delivered after a restart, none twice', async () => {
    const statePath = join(dir, 'crash.db');
    const store = await openStateStore({ path: statePath, env: {} });
    cleanups.push(() => store.close());
    for (let i = 0; i < 100; i++)
      await store.outbox.enqueue({
        idempotencyKey: `crash-${i}`,
        route: { channel: 'hook', address: null },
        message: { subject: `message ${i}`, body: 'x' },
      });

    let child: ChildProcess | undefined;
    // The receiver honours the key: a copy is acknowledged, not delivered again.
    const delivered = new Set<string>();
    let copies = 0;
    let killed = false;
    const r = await receiver((request) => {
      const key = String(request.headers['idempotency-key']);
      if (!killed && delivered.size === 40) {
        // Killed while this request is in flight: sent, never recorded.
        killed = true;
        child?.kill('SIGKILL');
      }
      if (delivered.has(key)) copies += 1;
      else delivered.add(key);
      return { status: 200 };
    });
    const script = fileURLToPath(new URL('./testing/outbox-worker-process.js', import.meta.url));
    const start = () =>
      spawn(process.execPath, [script, statePath, r.url], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = (p: ChildProcess) =>
      new Promise<NodeJS.Signals | null>((resolve) => p.once('exit', (_c, s) => resolve(s)));

    child = start();
    assert.equal(await exited(child), 'SIGKILL');
    assert.ok((await store.outbox.counts()).pending > 0, 'messages were left undelivered');

    child = start();
    cleanups.push(async () => void child?.kill('SIGKILL'));
    const deadline = Date.now() + 30_000;
    while ((await store.outbox.counts()).delivered < 100) {
      assert.ok(Date.now() < deadline, `delivered ${(await store.outbox.counts()).delivered} of 100`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGTERM');
    assert.equal(await exited(child), null, 'the worker stops cleanly on SIGTERM');

    assert.equal(delivered.size, 100, 'every message delivered');
    assert.equal(r.requests.length, 100 + copies);
    // The sends in flight at the kill went again after the restart, with the same keys.
    assert.ok(copies >= 1 && copies <= 8, `${copies} copies (the worker sends 8 at once)`);
  });
});
