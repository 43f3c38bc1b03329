/**
 * Human durations as the plan writes them (`30s`, `15m`, `4h`, `1d`, `1h30m`), ranges
 * (`2h..4h`) and cadences (`daily`, `quarterly`, or a duration). One parser for all of them,
 * so the schema, the rules and the engines agree on what `1d` means.
 */

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
type Unit = keyof typeof UNIT_SECONDS;

export const DURATION_PATTERN = '^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w))+)$';
const durationRe = new RegExp(DURATION_PATTERN);
const partRe = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)/g;

/** Seconds in a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!durationRe.test(trimmed)) return undefined;
  if (trimmed === '0') return 0;
  let total = 0;
  for (const match of trimmed.matchAll(partRe)) {
    total += Number(match[1]) * UNIT_SECONDS[match[2] as Unit];
  }
  return total;
}

export const RANGE_PATTERN = `^${DURATION_PATTERN.slice(1, -1)}\\.\\.${DURATION_PATTERN.slice(1, -1)}$`;

/** `2h..4h` → {min: 7200, max: 14400}; a single duration is a range of one point. */
export function parseRange(text: string): { min: number; max: number } | undefined {
  const [low, high, extra] = text.split('..');
  if (extra !== undefined) return undefined;
  const min = parseDuration(low ?? '');
  const max = high === undefined ? min : parseDuration(high);
  if (min === undefined || max === undefined || max < min) return undefined;
  return { min, max };
}

/** Named cadences, as DR plans write them. A month is 30 days, a quarter 91, a year 365. */
export const CADENCES = {
  continuous: 0,
  hourly: 3600,
  daily: 86_400,
  weekly: 604_800,
  monthly: 30 * 86_400,
  quarterly: 91 * 86_400,
  yearly: 365 * 86_400,
  annually: 365 * 86_400,
} as const;
export type Cadence = keyof typeof CADENCES;

/** Seconds between two runs of a cadence (`daily`, `4h`); 0 for `continuous`. */
export function parseCadence(text: string): number | undefined {
  if (text in CADENCES) return CADENCES[text as Cadence];
  return parseDuration(text);
}

/** 5400 → `1h30m`; the inverse of parseDuration for display. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
