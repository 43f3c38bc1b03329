/** The document's metadata and the plan-wide objectives. */
import { z } from 'zod';
import { CalendarDate, Duration, Text } from './scalars.js';

export const Document = z
  .strictObject({
    title: Text.optional().describe(
      'Title of the rendered DR document. Default: `<organization> Disaster Recovery Plan`.',
    ),
    version: z
      .union([Text, z.number()])
      .optional()
      .describe('The document version the owners give it, e.g. `2.1`.'),
    last_updated: CalendarDate.optional(),
    next_review: CalendarDate.optional().describe(
      'When the plan must next be reviewed; a past date is a warning.',
    ),
    owner: Text.optional().describe('Who owns the plan (a team or a person id).'),
    approved_by: Text.optional().describe('Who approved it.'),
    purpose: Text.optional(),
    summary: Text.optional().describe('The executive summary, shown first in the rendered document.'),
    scope: z.array(Text).optional(),
    assumptions: z.array(Text).optional(),
  })
  .describe('Metadata of the DR document itself.');

export const Objectives = z
  .strictObject({
    availability: z
      .union([z.string().regex(/^\d+(\.\d+)?%$/, 'a percentage such as `99.9%`'), z.number().min(0).max(100)])
      .optional()
      .describe('Availability target, e.g. `99.9%` (8.76 hours of downtime a year).'),
    latency: z
      .record(z.string().regex(/^p\d{1,2}(\.\d+)?$/, 'a percentile such as `p95`'), Duration)
      .optional()
      .describe('Latency targets by percentile, e.g. `{ p95: 2s }`.'),
    rto: Duration.optional().describe(
      'Plan-wide recovery time objective; a service without its own RTO inherits it.',
    ),
    rpo: Duration.optional().describe(
      'Plan-wide recovery point objective; a dataset without its own RPO inherits it.',
    ),
    other: z
      .array(Text)
      .optional()
      .describe('Objectives that are stated but not measured, e.g. "zero data corruption".'),
  })
  .describe('Service level objectives of the whole platform.');
