/** Roles and responsibilities, teams, emergency contacts and vendor contacts. */
import { isSecretRef } from '../../secret.js';
import type { Person, Plan } from '../../schema.js';
import { capitalize, list, personName } from '../format.js';
import {
  bullets,
  cell,
  code,
  compactTable,
  heading,
  link,
  strong,
  text,
  type Block,
  type Inline,
  type ListItem,
  type RenderInput,
} from '../model.js';

export function rolesSection({ plan }: RenderInput): Block[] {
  const roles = Object.entries(plan.roles ?? {});
  const teams = Object.entries(plan.teams ?? {});
  if (roles.length === 0 && teams.length === 0) return [];
  const blocks: Block[] = [heading(2, 'Roles and Responsibilities')];
  for (const [id, role] of roles) {
    blocks.push(heading(3, role.name ?? id, `role:${id}`));
    const items: ListItem[] = [];
    if (role.primary !== undefined)
      items.push({ content: [strong('Primary'), text(': '), ...personLabel(plan, role.primary)] });
    const backups = list(role.backup);
    if (backups.length > 0)
      items.push({
        content: [strong('Backup'), text(`: ${backups.map((p) => personName(plan, p)).join(', ')}`)],
      });
    items.push(...responsibilities(role.responsibilities));
    if (items.length > 0) blocks.push(bullets(items));
  }
  if (teams.length > 0 && roles.length > 0) blocks.push(heading(3, 'Teams'));
  const level = roles.length > 0 ? 4 : 3;
  for (const [id, team] of teams) {
    blocks.push(heading(level, team.name ?? id, `team:${id}`));
    const members = [
      ...(team.members ?? []).map((p) => personName(plan, p)),
      ...(team.positions ?? []).map((p) =>
        p.count !== undefined && p.count > 1 ? `${p.title} (${p.count})` : p.title,
      ),
    ];
    const items: ListItem[] = [];
    if (team.lead !== undefined)
      items.push({ content: [strong('Lead'), text(': '), ...personLabel(plan, team.lead)] });
    if (members.length > 0) items.push({ content: [strong('Members'), text(`: ${members.join(', ')}`)] });
    items.push(...responsibilities(team.responsibilities));
    if (items.length > 0) blocks.push(bullets(items));
  }
  return blocks;
}

function responsibilities(items: string[] | undefined): ListItem[] {
  if (!items?.length) return [];
  return [
    { content: [strong('Responsibilities'), text(':')], children: [bullets(items.map((r) => [text(r)]))] },
  ];
}

/** "Alice Martin (DevOps Lead)". */
function personLabel(plan: Plan, id: string): Inline[] {
  const person = plan.people?.[id];
  return [
    text(
      person === undefined
        ? id
        : person.title === undefined
          ? person.name
          : `${person.name} (${person.title})`,
    ),
  ];
}

/** A phone number or address, or where it is kept when the plan keeps it out of the repository. */
function contact(value: string | undefined): Inline[] {
  if (value === undefined) return [];
  return isSecretRef(value) ? [text('kept in '), code(value)] : [text(value)];
}

export function contactsSection({ plan }: RenderInput): Block[] {
  const blocks = [...roleContacts(plan), ...onCall(plan), ...vendorContacts(plan)];
  return blocks.length === 0 ? [] : [heading(2, 'Emergency Contacts'), ...blocks];
}

function roleContacts(plan: Plan): Block[] {
  const roles = Object.entries(plan.roles ?? {});
  if (roles.length === 0) return [];
  const rows = roles.map(([id, role]): Inline[][] => {
    const primary: Person | undefined = role.primary === undefined ? undefined : plan.people?.[role.primary];
    return [
      cell(role.name ?? id),
      cell(role.primary === undefined ? undefined : personName(plan, role.primary)),
      cell(
        list(role.backup)
          .map((p) => personName(plan, p))
          .join(', '),
      ),
      contact(primary?.phone),
      contact(primary?.email),
    ];
  });
  return [
    heading(3, 'Contacts by Role'),
    compactTable(['Role', 'Primary', 'Backup', 'Phone', 'Email'], rows),
  ];
}

const ON_CALL = ['primary', 'secondary', 'escalation'] as const;

function onCall(plan: Plan): Block[] {
  const people = Object.entries(plan.people ?? {});
  if (people.length === 0) return [];
  const blocks: Block[] = [heading(3, 'People')];
  blocks.push(
    compactTable(
      ['Name', 'Title', 'On call', 'Phone', 'Email', 'Chat'],
      people.map(([, p]) => [
        cell(p.name),
        cell(p.title),
        cell(p.on_call === undefined ? undefined : capitalize(p.on_call)),
        contact(p.phone),
        contact(p.email),
        cell(p.chat),
      ]),
    ),
  );
  for (const tier of ON_CALL) {
    const onTier = people.filter(([, p]) => p.on_call === tier);
    if (onTier.length === 0) continue;
    blocks.push(heading(4, tier === 'escalation' ? 'Management Escalation' : `${capitalize(tier)} On-Call`));
    blocks.push(
      bullets(
        onTier.map(([, p]) => {
          const reach = [contact(p.phone), contact(p.email)].filter((c) => c.length > 0);
          return [
            strong(p.title === undefined ? p.name : `${p.title}`),
            ...(p.title === undefined ? [] : [text(` (${p.name})`)]),
            ...(reach.length === 0
              ? []
              : [text(': '), ...reach.flatMap((c, i) => (i === 0 ? c : [text(', '), ...c]))]),
          ];
        }),
      ),
    );
  }
  return blocks;
}

function vendorContacts(plan: Plan): Block[] {
  const vendors = Object.entries(plan.vendors ?? {});
  if (vendors.length === 0) return [];
  const url = (value: string | undefined): Inline[] =>
    value === undefined ? [] : /^https?:\/\//.test(value) ? [link(value)] : [text(value)];
  const rows = vendors.map(([, v]): Inline[][] => [
    cell(v.name),
    cell(v.service),
    contact(v.support_phone),
    contact(v.support_email),
    url(v.support_url),
    cell(v.account_manager),
    cell(v.sla),
    url(v.status_page),
    cell(v.notes),
  ]);
  return [
    heading(3, 'Vendor Contacts'),
    compactTable(
      [
        'Vendor',
        'Service',
        'Support phone',
        'Support email',
        'Support URL',
        'Account manager',
        'SLA',
        'Status page',
        'Notes',
      ],
      rows,
    ),
  ];
}
