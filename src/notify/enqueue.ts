/**
 * From the matrix to the outbox: renders each notice that is due and enqueues it once per
 * route. Idempotent: each route of each notice has a key made of the incident, the
 * stakeholder, the checkpoint and the destination, so the incident module may call this on
 * every change and every minute; a notice already in the outbox is left as it is.
 */
import { createHash } from 'node:crypto';
import type { Plan } from '../plan/schema.js';
import type { OutboxStore } from '../state/outbox-store.js';
import type { OutgoingMessage } from './channels/channel.js';
import type { IncidentFacts } from './incident.js';
import { dueNotices, planNotices, type Notice } from './matrix.js';
import { DEFAULT_TEMPLATES, incidentValues, renderTemplate } from './template.js';

export interface EnqueueReport {
  /** Routes written to the outbox by this call. */
  enqueued: number;
  /** Routes that were already there. */
  alreadyQueued: number;
  /** Stakeholders or channels that cannot be reached, in words. */
  unreachable: string[];
}

/**
 * A key that identifies one route of one notice and says nothing about it: it travels to
 * providers (a header, a Message-ID, a dedup_key), and the address in it may be private.
 */
export function idempotencyKey(
  incidentId: string,
  notice: Pick<Notice, 'stakeholder' | 'checkpoint'>,
  route: { channel: string; address: string | null },
): string {
  const parts = [incidentId, notice.stakeholder, notice.checkpoint, route.channel, route.address ?? ''];
  return `lb-${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40)}`;
}

/** The message one notice sends, rendered now. */
export function renderNotice(plan: Plan, incident: IncidentFacts, notice: Notice): OutgoingMessage {
  const template = (notice.template && plan.templates?.[notice.template]) || DEFAULT_TEMPLATES[notice.kind];
  const where = notice.template ? `templates.${notice.template}` : `the default ${notice.kind} template`;
  const values = incidentValues(plan, incident, { nextUpdateAt: notice.nextUpdateAt });
  return {
    ...renderTemplate(template, values, where),
    severity: incident.severity,
    action: notice.kind === 'resolution' ? 'resolve' : 'trigger',
    incidentKey: `lifeboat-${incident.id}`,
  };
}

export async function enqueueDueNotices(
  outbox: OutboxStore,
  plan: Plan,
  incident: IncidentFacts,
  now: Date = new Date(),
): Promise<EnqueueReport> {
  const report: EnqueueReport = { enqueued: 0, alreadyQueued: 0, unreachable: [] };
  for (const notice of dueNotices(planNotices(plan, incident, now), now)) {
    for (const line of notice.unreachable)
      if (!report.unreachable.includes(line))
        report.unreachable.push(`stakeholders.${notice.stakeholder}: ${line}`);
    if (notice.routes.length === 0) continue;
    const message = renderNotice(plan, incident, notice);
    for (const route of notice.routes) {
      const { created } = await outbox.enqueue({
        idempotencyKey: idempotencyKey(incident.id, notice, route),
        route: { channel: route.channel, address: route.address },
        fallback: route.fallback
          ? { route: route.fallback, idempotencyKey: idempotencyKey(incident.id, notice, route.fallback) }
          : undefined,
        message: { ...message },
      });
      if (created) report.enqueued += 1;
      else report.alreadyQueued += 1;
    }
  }
  return report;
}
