/**
 * A worker process for the crash test: `node outbox-worker-process.js STATE_DB RECEIVER_URL`
 * delivers the outbox through one signed webhook channel until SIGTERM (or a SIGKILL).
 */
import type { Plan } from '../../plan/schema.js';
import { openStateStore } from '../../state/store.js';
import { planChannels } from '../plan-channels.js';
import { runOutboxWorker } from '../worker.js';

const [statePath, receiverUrl] = process.argv.slice(2);
if (!statePath || !receiverUrl) throw new Error('usage: outbox-worker-process STATE_DB RECEIVER_URL');
const store = await openStateStore({ path: statePath, env: {} });
const plan = {
  version: 1,
  organization: 'Test',
  channels: { hook: { type: 'webhook', url: receiverUrl } },
} as unknown as Plan;
const controller = new AbortController();
process.once('SIGTERM', () => controller.abort());
await runOutboxWorker({
  outbox: store.outbox,
  channels: planChannels(plan, '.'),
  signal: controller.signal,
  leaseMs: 1500,
  pollMs: 50,
  concurrency: 8,
  rateLimit: { burst: 1000, perSecond: 1000 },
  backoff: { baseMs: 50, maxMs: 200 },
});
await store.close();
