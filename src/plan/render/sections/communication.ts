/** Communication plan: channels by tier, the stakeholder notification matrix, templates, status page. */
import { parseDuration } from '../../duration.js';
import type { Channel, Plan } from '../../schema.js';
import { capitalize, humanSeconds, list, partyName, serviceName, sentence } from '../format.js';
import {
  bullets,
  cell,
  codeBlock,
  compactTable,
  fields,
  heading,
  link,
  paragraph,
  ref,
  strong,
  table,
  text,
  type Block,
  type Inline,
  type RenderInput,
} from '../model.js';

export function communicationSection({ plan }: RenderInput): Block[] {
  const body = [
    ...channelBlocks(plan),
    ...matrixBlocks(plan),
    ...templateBlocks(plan),
    ...statusPageBlocks(plan),
  ];
  return body.length === 0 ? [] : [heading(2, 'Communication Plan'), ...body];
}

const CHANNEL_LABELS: Record<Channel['type'], string> = {
  slack: 'Slack',
  teams: 'Microsoft Teams',
  discord: 'Discord',
  whatsapp: 'WhatsApp',
  email: 'Email',
  sms: 'SMS',
  phone: 'Phone',
  pagerduty: 'PagerDuty',
  webhook: 'Webhook',
  statuspage: 'Status page',
  other: 'Other',
};

const TIERS = ['primary', 'backup', 'escalation'] as const;

function channelBlocks(plan: Plan): Block[] {
  const channels = Object.entries(plan.channels ?? {});
  if (channels.length === 0) return [];
  const blocks: Block[] = [heading(3, 'Communication Channels')];
  for (const tier of TIERS) {
    const inTier = channels.filter(([, c]) => (c.tier ?? 'primary') === tier);
    if (inTier.length === 0) continue;
    blocks.push(heading(4, `${capitalize(tier)} Channels`));
    blocks.push(
      bullets(
        inTier.map(([id, c]) => {
          // Only what a person can use: the webhook, SMTP and API credentials are secret references and stay out.
          const where = c.target ?? (c.to === undefined ? undefined : list(c.to).join(', ')) ?? c.url;
          const label = c.name ?? CHANNEL_LABELS[c.type] ?? id;
          return [
            strong(label),
            ...(c.name !== undefined && c.name !== CHANNEL_LABELS[c.type]
              ? [text(` (${CHANNEL_LABELS[c.type]})`)]
              : []),
            ...(where === undefined ? [] : [text(`: ${where}`)]),
            ...(c.description === undefined ? [] : [text(` — ${c.description}`)]),
          ];
        }),
      ),
    );
  }
  return blocks;
}

/** `immediate` first, then durations in order, `resolution` last. */
function checkpointOrder(at: string): number {
  if (at === 'immediate') return -1;
  if (at === 'resolution') return Number.MAX_SAFE_INTEGER;
  return parseDuration(at) ?? Number.MAX_SAFE_INTEGER - 1;
}

function checkpointLabel(at: string): string {
  if (at === 'immediate' || at === 'resolution') return capitalize(at);
  const seconds = parseDuration(at);
  return seconds === undefined ? at : humanSeconds(seconds);
}

function matrixBlocks(plan: Plan): Block[] {
  const stakeholders = Object.entries(plan.stakeholders ?? {});
  if (stakeholders.length === 0) return [];
  // Columns are the checkpoints, keyed by seconds so that `60m` and `1h` share one column.
  const columns = new Map<number, string>();
  for (const [, s] of stakeholders) {
    for (const at of s.notify_at ?? [])
      if (!columns.has(checkpointOrder(at))) columns.set(checkpointOrder(at), at);
  }
  const ordered = [...columns.entries()].sort((a, b) => a[0] - b[0]);
  const blocks: Block[] = [heading(3, 'Stakeholder Notification Matrix')];
  if (ordered.length > 0) {
    blocks.push(
      table(
        ['Stakeholder', ...ordered.map(([, at]) => checkpointLabel(at))],
        stakeholders.map(([id, s]) => {
          const due = new Set((s.notify_at ?? []).map(checkpointOrder));
          return [cell(s.name ?? id), ...ordered.map(([key]) => cell(due.has(key) ? '✓' : '-'))];
        }),
      ),
    );
  }
  const details = stakeholders.map(([id, s]): Inline[][] => [
    cell(s.name ?? id),
    cell(s.audience === undefined ? undefined : capitalize(s.audience)),
    cell((s.contacts ?? []).map((c) => partyName(plan, c)).join(', ')),
    cell((s.via ?? []).map((c) => plan.channels?.[c]?.name ?? c).join(', ')),
    cell(
      [s.condition, s.severities?.length ? `severity ${s.severities.join(', ')}` : undefined]
        .filter(Boolean)
        .join('; '),
    ),
    s.template === undefined
      ? []
      : [ref(`template:${s.template}`, plan.templates?.[s.template]?.name ?? s.template)],
  ]);
  const detailTable = compactTable(['Stakeholder', 'Audience', 'Who', 'Via', 'When', 'Template'], details);
  if (detailTable.kind === 'table' && detailTable.head.length > 1) blocks.push(detailTable);
  return blocks.length === 1 ? [] : blocks;
}

function templateBlocks(plan: Plan): Block[] {
  const templates = Object.entries(plan.templates ?? {});
  if (templates.length === 0) return [];
  const blocks: Block[] = [heading(3, 'Message Templates')];
  for (const [id, t] of templates) {
    const audience = t.audience === undefined ? '' : ` (${t.audience})`;
    blocks.push(heading(4, `${t.name ?? id}${audience}`, `template:${id}`));
    // Verbatim, placeholders included: this is what is sent.
    blocks.push(codeBlock('text', t.subject === undefined ? t.body : `Subject: ${t.subject}\n\n${t.body}`));
  }
  return blocks;
}

function statusPageBlocks(plan: Plan): Block[] {
  const page = plan.status_page;
  if (page === undefined) return [];
  const yesNo = (value: boolean | undefined) => (value === undefined ? undefined : value ? 'yes' : 'no');
  const approvals = page.approvals;
  const approvalText =
    approvals === undefined
      ? undefined
      : `${approvals.major ?? 1} distinct approval${(approvals.major ?? 1) === 1 ? '' : 's'} before a major-incident update is published` +
        (approvals.by?.length ? `, from ${sentence(approvals.by.map((id) => partyName(plan, id)))}` : '');
  const blocks = fields([
    [
      'Public page',
      page.url === undefined
        ? undefined
        : /^https?:\/\//.test(page.url)
          ? [link(page.url)]
          : [text(page.url)],
    ],
    [
      'Hosted by',
      page.provider === undefined ? undefined : (plan.channels?.[page.provider]?.name ?? page.provider),
    ],
    ['Components', page.components?.map((id) => serviceName(plan, id)).join(', ')],
    ['Automatic updates on critical alerts', yesNo(page.automatic)],
    ['Manual override', yesNo(page.manual_override)],
    ['Multi-person approval', approvalText],
  ]);
  return [
    heading(3, 'Status Page'),
    ...(blocks.length === 0 ? [paragraph(text('A public status page is kept.'))] : blocks),
  ];
}
