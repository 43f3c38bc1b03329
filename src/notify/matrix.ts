/**
 * The stakeholder notification matrix, as pure functions: for an incident and the plan's
 * `stakeholders`, who is told what, when, and through which channels. No I/O: the outbox
 * (enqueue.ts) sends what this says is due.
 *
 * For each stakeholder row that applies (its `severities` include the incident's, its
 * `condition` is among the incident's `conditions`):
 * - checkpoints from `notify_at` (default: `immediate` and `resolution`), each a time from
 *   the incident's start; the earliest is the first message (`template`), later ones are
 *   updates (`update_template`), `resolution` waits for the incident to be resolved
 *   (`resolution_template`). `update_every` adds an update at each interval after the first
 *   checkpoint. Checkpoints that fall after the resolution are dropped: the resolution
 *   message replaces them.
 * - routes from `via` (default: the plan's channels of tier `primary`): a chat, webhook or
 *   PagerDuty channel is one route; an email or phone channel is one route per contact with
 *   an email or phone (an email channel with `to` and no such contact: one route to `to`).
 * - a fallback per route: a `backup`-tier channel of `via`, else of the plan, that reaches
 *   people the same way (a call falls back to a text), else the first backup channel.
 */
import { parseDuration } from '../plan/duration.js';
import type { Plan } from '../plan/schema.js';
import type { ChannelConfig, ChannelKind } from './channels/channel.js';
import { channelKinds } from './channels/index.js';
import type { IncidentFacts } from './incident.js';
import { resolveContacts, type Recipient } from './recipients.js';

export type NoticeKind = 'initial' | 'update' | 'resolution';

export interface NoticeRoute {
  channel: string;
  /** An email or phone (or its `env:` reference); null for the channel's own target. */
  address: string | null;
  /** The person id, for an addressed route. */
  recipient: string | null;
  fallback: { channel: string; address: string | null } | null;
}

export interface Notice {
  stakeholder: string;
  /** `immediate`, `15m`, `resolution`, `every:1h30m`: with the incident and stakeholder, the notice's identity. */
  checkpoint: string;
  kind: NoticeKind;
  /** ISO time it is due; null for a resolution while the incident is open. */
  dueAt: string | null;
  /** The plan's template id; undefined: the default template of this kind. */
  template: string | undefined;
  /** The stakeholder's next checkpoint after this one, told as "next update". */
  nextUpdateAt: string | undefined;
  routes: NoticeRoute[];
  /** Why some of the row cannot be reached, for people to fix the plan. */
  unreachable: string[];
}

type StakeholderConfig = NonNullable<Plan['stakeholders']>[string];
const DEFAULT_CHECKPOINTS = ['immediate', 'resolution'] as const;

/** Every notice of the incident, due or not, for every stakeholder it concerns. `now` bounds `update_every`. */
export function planNotices(plan: Plan, incident: IncidentFacts, now: Date): Notice[] {
  const notices: Notice[] = [];
  for (const [id, row] of Object.entries(plan.stakeholders ?? {})) {
    if (!applies(row, incident)) continue;
    const { routes, unreachable } = routesFor(plan, row, incident);
    for (const checkpoint of checkpointsFor(row, incident, now))
      notices.push({ stakeholder: id, ...checkpoint, routes, unreachable });
  }
  return notices;
}

/** The notices due at `now`: those whose time has come (a resolution once resolved). */
export function dueNotices(notices: readonly Notice[], now: Date): Notice[] {
  return notices.filter((notice) => notice.dueAt !== null && Date.parse(notice.dueAt) <= now.getTime());
}

export function applies(row: StakeholderConfig, incident: IncidentFacts): boolean {
  if (row.severities && !row.severities.includes(incident.severity)) return false;
  if (row.condition !== undefined && !(incident.conditions ?? []).includes(row.condition)) return false;
  return true;
}

type Checkpoint = Omit<Notice, 'stakeholder' | 'routes' | 'unreachable'>;

export function checkpointsFor(row: StakeholderConfig, incident: IncidentFacts, now: Date): Checkpoint[] {
  const start = Date.parse(incident.startedAt);
  const resolved = incident.resolvedAt === undefined ? undefined : Date.parse(incident.resolvedAt);
  const timed: { label: string; at: number }[] = [];
  let resolution = false;
  for (const at of row.notify_at ?? DEFAULT_CHECKPOINTS) {
    if (at === 'resolution') resolution = true;
    else timed.push({ label: at, at: start + (at === 'immediate' ? 0 : (parseDuration(at) ?? 0) * 1000) });
  }
  timed.sort((a, b) => a.at - b.at);
  const every = row.update_every === undefined ? 0 : (parseDuration(row.update_every) ?? 0) * 1000;
  const first = timed[0];
  if (first && every > 0) {
    // Up to the resolution, or one interval past now: the next one is promised as "next update".
    const until = resolved ?? now.getTime() + every;
    for (let at = first.at + every; at <= until; at += every)
      if (!timed.some((t) => t.at === at)) timed.push({ label: `every:${(at - start) / 1000}s`, at });
    timed.sort((a, b) => a.at - b.at);
  }
  const kept = timed.filter((t) => resolved === undefined || t.at <= resolved);
  const checkpoints: Checkpoint[] = kept.map((t, index) => ({
    checkpoint: t.label,
    kind: index === 0 && t.at === first?.at ? 'initial' : 'update',
    dueAt: new Date(t.at).toISOString(),
    template: index === 0 && t.at === first?.at ? row.template : row.update_template,
    nextUpdateAt: kept[index + 1] === undefined ? undefined : new Date(kept[index + 1]!.at).toISOString(),
  }));
  if (resolution)
    checkpoints.push({
      checkpoint: 'resolution',
      kind: 'resolution',
      dueAt: incident.resolvedAt ?? null,
      template: row.resolution_template,
      nextUpdateAt: undefined,
    });
  return checkpoints;
}

type Sendable = { id: string; config: ChannelConfig; kind: ChannelKind };

export function routesFor(
  plan: Plan,
  row: StakeholderConfig,
  incident: IncidentFacts,
): { routes: NoticeRoute[]; unreachable: string[] } {
  const channels = plan.channels ?? {};
  const unreachable: string[] = [];
  const usable = (id: string): Sendable | undefined => {
    const config = channels[id];
    const kind = config && channelKinds[config.type];
    if (!config || !kind) return undefined;
    if (config.severities && !config.severities.includes(incident.severity)) return undefined;
    return { id, config, kind };
  };
  const tier = (id: string) => channels[id]?.tier ?? 'primary';
  const via = row.via ?? Object.keys(channels).filter((id) => tier(id) === 'primary');
  const viaUsable: Sendable[] = [];
  for (const id of via) {
    const channel = usable(id);
    if (channel) viaUsable.push(channel);
    else if (id === 'status_page' || channels[id]?.type === 'statuspage')
      unreachable.push(`${id}: the status page is published by its own module, not sent`);
    else if (channels[id] && !channelKinds[channels[id].type])
      unreachable.push(`channels.${id}: Lifeboat cannot send through a ${channels[id].type} channel`);
  }
  const backups = [...(row.via ?? []), ...Object.keys(channels)].filter((id) => tier(id) === 'backup');
  const fallbacks = backups.map(usable).filter((c) => c !== undefined);
  // The same way of reaching a person first (a call falls back to a text), else any backup.
  const fallbackFor = (channel: Sendable) =>
    fallbacks.find((c) => c.kind.addresses === channel.kind.addresses) ?? fallbacks[0];
  const people = resolveContacts(plan, row.contacts ?? []);
  if ((row.contacts ?? []).length > 0 && people.length === 0)
    unreachable.push(`contacts ${(row.contacts ?? []).join(', ')} name no person with contact details`);

  const routes = new Map<string, NoticeRoute>();
  const add = (channel: Sendable, address: string | null, person: Recipient | null) => {
    const key = `${channel.id}\u0000${address ?? ''}`;
    if (routes.has(key)) return;
    const fallback = fallbackFor(channel);
    const backup = fallback && fallback.id !== channel.id ? addressOn(fallback, person) : undefined;
    routes.set(key, {
      channel: channel.id,
      address,
      recipient: person?.id ?? null,
      fallback:
        fallback === undefined || backup === undefined ? null : { channel: fallback.id, address: backup },
    });
  };
  for (const channel of viaUsable) {
    if (channel.kind.addresses === 'none') {
      add(channel, null, null);
      continue;
    }
    const reached = people.filter((person) => addressOn(channel, person) !== undefined);
    for (const person of reached) add(channel, addressOn(channel, person) ?? null, person);
    if (reached.length === 0 && channel.kind.addresses === 'email' && channel.config.to !== undefined)
      add(channel, null, null);
    else if (reached.length === 0)
      unreachable.push(
        `channels.${channel.id}: none of the contacts has ${channel.kind.addresses === 'email' ? 'an email' : 'a phone'}`,
      );
  }
  return { routes: [...routes.values()], unreachable };
}

/** The address a channel reaches this person at; null: the channel's own target; undefined: it cannot. */
function addressOn(channel: Sendable, person: Recipient | null): string | null | undefined {
  switch (channel.kind.addresses) {
    case 'none':
      return null;
    case 'email':
      return person?.email ?? (channel.config.to === undefined ? undefined : null);
    case 'phone':
      return person?.phone;
  }
}
