/** Scalars shared by every section of the plan: ids, durations, cadences, secret references. */
import { z } from 'zod';
import { DURATION_PATTERN, RANGE_PATTERN } from '../duration.js';
import { SECRET_REF_PATTERN } from '../secret.js';

export const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const Id = z
  .string()
  .regex(idPattern, 'an id is letters, digits, `-`, `_` or `.`, starting with a letter or digit');

export const Duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), 'a duration such as `30s`, `15m`, `4h`, `1d` or `1h30m`')
  .describe('A duration: a number and a unit (ms, s, m, h, d, w), e.g. `30s`, `4h`, `1h30m`; `0` alone (quoted or not) means zero.');

export const DurationRange = z
  .string()
  .regex(
    new RegExp(`(${RANGE_PATTERN})|(${DURATION_PATTERN})`),
    'a duration (`2h`) or a range of two (`2h..4h`)',
  )
  .describe('A duration or a range `MIN..MAX`, e.g. `15m..30m`.');

export const cadenceWords = [
  'continuous',
  'hourly',
  'daily',
  'weekly',
  'monthly',
  'quarterly',
  'yearly',
  'annually',
];
export const Cadence = z
  .string()
  .regex(
    new RegExp(`^(${cadenceWords.join('|')})$|${DURATION_PATTERN}`),
    `a cadence: ${cadenceWords.join(', ')}, or a duration such as \`4h\``,
  )
  .describe(`How often: ${cadenceWords.join(', ')}, or a duration such as \`30m\`.`);

export const SecretRef = z
  .string()
  .regex(
    new RegExp(SECRET_REF_PATTERN),
    'a secret reference, `env:NAME` or `file:PATH`; never the secret itself',
  )
  .describe(
    'Where a secret is found: `env:NAME` (an environment variable) or `file:PATH` (relative to the plan).',
  );

/** A value that may be given in clear (a host, a URL without credentials) or as a secret reference. */
export const Text = z.string().min(1, 'must not be empty');
export const IdList = z.array(Id);
export const OneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]);

export const Priority = z
  .enum(['critical', 'high', 'medium', 'low'])
  .describe('How much the business depends on it.');
export const Likelihood = z.enum(['high', 'medium', 'low']);
export const CalendarDate = z
  .union([z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, 'a date `YYYY-MM-DD` (or `YYYY-MM`)'), z.date()])
  .describe('A calendar date, `YYYY-MM-DD` or `YYYY-MM`.');
