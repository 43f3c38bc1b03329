/** Plan values as a reader of a DR document expects them: `4h` → "4 hours", ids → names. */
import { CADENCES, parseCadence, parseDuration, parseRange } from '../duration.js';
import type { Plan } from '../schema.js';

const UNITS = [
  ['week', 604_800],
  ['day', 86_400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
] as const;

/** 5400 → "1 hour 30 minutes"; 0 → "0" (an RPO of zero: no loss at all). */
export function humanSeconds(seconds: number): string {
  if (seconds === 0) return '0';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of UNITS) {
    // Weeks only when exact: "14 days" reads better than "2 weeks" only sometimes, "1 week 3 days" never.
    if (unit === 'week' && rest % size !== 0) continue;
    if (rest >= size) {
      const n = Math.floor(rest / size);
      parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}

/** `4h` → "4 hours"; text that is not a duration is returned as written. */
export function humanDuration(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  return seconds === undefined ? value : humanSeconds(seconds);
}

/** `2h..4h` → "2–4 hours", `30m..2h` → "30 minutes – 2 hours", `1h` → "1 hour". */
export function humanRange(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const range = parseRange(value);
  if (range === undefined) return value;
  if (range.min === range.max) return humanSeconds(range.min);
  if (range.min === 0) return `0–${humanSeconds(range.max)}`;
  const low = humanSeconds(range.min);
  const high = humanSeconds(range.max);
  const [lowNumber, lowUnit] = low.split(' ');
  const highUnit = high.split(' ').slice(1).join(' ');
  // "2–4 hours" when both ends are a whole number of the same unit.
  if (
    low.split(' ').length === 2 &&
    high.split(' ').length === 2 &&
    lowUnit?.replace(/s$/, '') === highUnit.replace(/s$/, '')
  ) {
    return `${lowNumber}–${high}`;
  }
  return `${low} – ${high}`;
}

/** `0m..30m` as a phase's time box: "0–30 minutes". */
export const humanTimebox = humanRange;

/** `daily` → "Daily", `4h` → "Every 4 hours", `continuous` → "Continuous". */
export function humanCadence(value: string): string {
  if (value in CADENCES) return value.charAt(0).toUpperCase() + value.slice(1);
  const seconds = parseCadence(value);
  return seconds === undefined ? value : `Every ${humanSeconds(seconds)}`;
}

/** Sort key for cadences: most frequent first. */
export function cadenceSeconds(value: string): number {
  return parseCadence(value) ?? Number.MAX_SAFE_INTEGER;
}

/** A calendar date as written (`2024-04`), or a YAML date as `YYYY-MM-DD`. */
export function displayDate(value: string | Date | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.toISOString().slice(0, 10) : value;
}

export function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/** `rto_met` → "Rto met"; used only for values without a dedicated label. */
export function words(value: string): string {
  return capitalize(value.replace(/[_-]+/g, ' '));
}

// ---------------------------------------------------------------------------------------------
// Ids to names

export const serviceName = (plan: Plan, id: string): string => plan.services?.[id]?.name ?? id;
export const datasetName = (plan: Plan, id: string): string => plan.datasets?.[id]?.name ?? id;
export const scenarioName = (plan: Plan, id: string): string => plan.scenarios?.[id]?.name ?? id;
export const runbookName = (plan: Plan, id: string): string => plan.runbooks?.[id]?.name ?? id;
export const personName = (plan: Plan, id: string): string => plan.people?.[id]?.name ?? id;

/** Approvers, owners and recipients may be a role, a team, a person or a channel. */
export function partyName(plan: Plan, id: string): string {
  return (
    plan.roles?.[id]?.name ??
    plan.teams?.[id]?.name ??
    plan.people?.[id]?.name ??
    plan.stakeholders?.[id]?.name ??
    plan.channels?.[id]?.name ??
    id
  );
}

export const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** `['a', 'b', 'c']` → "a, b and c". */
export function sentence(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
