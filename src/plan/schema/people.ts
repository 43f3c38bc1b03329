/** People and communication: contacts, roles, teams, vendors, channels, stakeholders, templates, the status page. */
import { z } from 'zod';
import { Duration, Id, IdList, OneOrMany, SecretRef, Text } from './scalars.js';

export const Person = z
  .strictObject({
    name: Text,
    title: Text.optional(),
    phone: Text.optional().describe(
      'A phone number, or `env:`/`file:` when it must not be in the repository.',
    ),
    email: Text.optional(),
    chat: Text.optional(),
    on_call: z.enum(['primary', 'secondary', 'escalation']).optional(),
  })
  .describe('Someone who can be reached.');

export const Role = z
  .strictObject({
    name: Text.optional(),
    primary: Id.optional().describe('A person id.'),
    backup: OneOrMany(Id).optional().describe('Person ids, in order.'),
    responsibilities: z.array(Text).optional(),
  })
  .describe('A responsibility during an incident (incident commander, DBA).');

export const Team = z
  .strictObject({
    name: Text.optional(),
    lead: Id.optional().describe('A person id.'),
    members: IdList.optional().describe('Person ids.'),
    positions: z
      .array(z.strictObject({ title: Text, count: z.number().int().min(1).optional() }))
      .optional()
      .describe(
        'Members described by position when they are not named, e.g. `{ title: Backend Engineer, count: 2 }`.',
      ),
    responsibilities: z.array(Text).optional(),
  })
  .describe('A group with a lead.');

export const Vendor = z
  .strictObject({
    name: Text,
    service: Text.optional(),
    support_phone: Text.optional(),
    support_email: Text.optional(),
    support_url: Text.optional(),
    account_manager: Text.optional(),
    sla: Text.optional(),
    status_page: Text.optional(),
    notes: Text.optional(),
  })
  .describe('A supplier the recovery depends on.');

export const Channel = z
  .strictObject({
    type: z.enum([
      'slack',
      'teams',
      'discord',
      'whatsapp',
      'email',
      'sms',
      'phone',
      'pagerduty',
      'webhook',
      'statuspage',
      'other',
    ]),
    name: Text.optional(),
    tier: z.enum(['primary', 'backup', 'escalation']).optional().describe('Default: primary.'),
    target: Text.optional().describe('Channel name, address list, phone tree or page URL, in clear.'),
    webhook: SecretRef.optional(),
    smtp: SecretRef.optional().describe('`smtp://user:pass@host:port` behind `env:`/`file:`.'),
    from: Text.optional(),
    to: OneOrMany(Text).optional(),
    routing_key: SecretRef.optional().describe('PagerDuty Events v2 routing key.'),
    api_key: SecretRef.optional(),
    page_id: Text.optional(),
    url: Text.optional().describe('Endpoint for webhooks and self-hosted services.'),
    severities: z
      .array(z.enum(['critical', 'high', 'medium', 'low']))
      .optional()
      .describe('Only incidents of these severities use it. Default: all.'),
    description: Text.optional(),
  })
  .describe('A way to reach people.');

export const NotifyAt = z.union([z.literal('immediate'), z.literal('resolution'), Duration]);

export const Stakeholder = z
  .strictObject({
    name: Text.optional(),
    audience: z.enum(['internal', 'external']).optional().describe('Default: internal.'),
    contacts: IdList.optional().describe('Roles, teams or people who receive it.'),
    via: IdList.optional().describe(
      "Channels used to reach them; `status_page` for the plan's own status page.",
    ),
    notify_at: z
      .array(NotifyAt)
      .optional()
      .describe('Checkpoints from incident start: `immediate`, a duration (`15m`, `1h`), `resolution`.'),
    condition: Text.optional().describe('Only when this holds, e.g. "major incident".'),
    severities: z.array(z.enum(['critical', 'high', 'medium', 'low'])).optional(),
    template: Id.optional().describe('Template of the first message.'),
    update_template: Id.optional().describe('Template of the updates.'),
    resolution_template: Id.optional().describe('Template of the resolution message.'),
    update_every: Duration.optional().describe('Repeat updates at this interval until resolution.'),
  })
  .describe('A row of the stakeholder notification matrix.');

export const Template = z
  .strictObject({
    name: Text.optional(),
    audience: z.enum(['internal', 'external']).optional(),
    subject: Text.optional(),
    body: Text.describe('Text with `{{variable}}` placeholders, e.g. `{{incident.severity}}`.'),
  })
  .describe('A message template.');

export const StatusPage = z
  .strictObject({
    url: Text.optional().describe('The public page.'),
    provider: Id.optional().describe('A channel of type `statuspage`, when a hosted page mirrors ours.'),
    components: IdList.optional().describe('Services shown. Default: every service that is not external.'),
    automatic: z
      .boolean()
      .optional()
      .describe('Open an incident on the page when a critical probe fails. Default: true.'),
    manual_override: z.boolean().optional().describe('People may post updates by hand. Default: true.'),
    approvals: z
      .strictObject({ major: z.number().int().min(1).optional(), by: IdList.optional() })
      .optional()
      .describe('Distinct approvals before a major-incident update is published.'),
  })
  .describe('The public status page.');
