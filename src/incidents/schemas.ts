/**
 * The incidents API's contracts: zod schemas that are at once the runtime check, the
 * TypeScript types (z.infer) and, through z.toJSONSchema, the JSON Schemas Fastify validates
 * with and @fastify/swagger publishes as OpenAPI. One declaration per fact, so the document,
 * the validation and the code cannot drift apart.
 */
import { z } from 'zod';

export const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export const IncidentStatus = z
  .enum(INCIDENT_STATUSES)
  .describe('The lifecycle, in order: investigating → identified → monitoring → resolved.');
export const Impact = z
  .enum(['none', 'minor', 'major', 'critical'])
  .describe("Statuspage's impact. Default: from the affected services' highest priority in the plan.");

/** Long enough for a paragraph, short enough that a page stays readable. */
const Title = z.string().trim().min(1).max(200);
const Message = z.string().trim().min(1).max(10_000);

export const IncidentCreate = z
  .strictObject({
    title: Title.describe('What users see, plain text (rendered escaped).'),
    status: IncidentStatus.optional().describe('Default: investigating.'),
    message: Message.describe('The first update of the timeline.'),
    services: z
      .array(z.string().min(1).max(100))
      .max(100)
      .optional()
      .describe("Affected services: ids of the plan's services. Default: none."),
    impact: Impact.optional(),
  })
  .describe('A new incident.');
export type IncidentCreate = z.infer<typeof IncidentCreate>;

export const IncidentUpdateCreate = z
  .strictObject({
    status: IncidentStatus,
    message: Message.describe('What changed, plain text.'),
  })
  .describe('An update to the timeline; `resolved` closes the incident.');
export type IncidentUpdateCreate = z.infer<typeof IncidentUpdateCreate>;

export const IncidentUpdate = z.strictObject({
  id: z.string(),
  status: IncidentStatus,
  message: z.string(),
  actor: z.string().describe('Who wrote it: `token:NAME` or `cli:USER`.'),
  createdAt: z.string().describe('ISO 8601 UTC.'),
});

export const Incident = z
  .strictObject({
    id: z.string(),
    title: z.string(),
    status: IncidentStatus,
    impact: Impact,
    severity: z.string().nullable().describe('The highest priority of the affected services, if known.'),
    services: z.array(z.string()),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    resolvedAt: z.string().nullable(),
    durationSeconds: z.number().nullable().describe('From opening to resolution; null while open.'),
    updates: z.array(IncidentUpdate).describe('The timeline, oldest first.'),
  })
  .describe('An incident and its timeline.');
export type Incident = z.infer<typeof Incident>;

export const IncidentList = z.strictObject({ incidents: z.array(Incident) });
export type IncidentList = z.infer<typeof IncidentList>;

export const IncidentParams = z.strictObject({ id: z.string().min(1).max(100) });
export type IncidentParams = z.infer<typeof IncidentParams>;
