/**
 * The notification engine, as other parts call it:
 * - enqueueDueNotices(outbox, plan, incident, now): what the stakeholder matrix says is due,
 *   rendered and written to the outbox (idempotent; call it on every incident change);
 * - runOutboxWorker({ outbox, channels: planChannels(plan, planDir), signal }): delivers;
 * - planNotices / dueNotices / renderNotice: the same decisions, without I/O (previews, dry runs).
 */
export { DeliveryError } from './delivery-error.js';
export { enqueueDueNotices, idempotencyKey, renderNotice, type EnqueueReport } from './enqueue.js';
export type { IncidentFacts } from './incident.js';
export { dueNotices, planNotices, type Notice, type NoticeKind, type NoticeRoute } from './matrix.js';
export { planChannels, type ChannelSet, type PlanChannelsOptions } from './plan-channels.js';
export { incidentValues, renderTemplate, DEFAULT_TEMPLATES } from './template.js';
export { runOutboxWorker, type DeliveryEvent, type OutboxWorkerOptions } from './worker.js';
export type { Channel, OutgoingMessage, SendOptions, SendResult } from './channels/channel.js';
