/**
 * Each component's availability per day, from the probe results the state store recorded:
 * the checks of the service's probes that day, and the share that passed. A day with no
 * check has no figure (null): the page shows it as such, never as 100 %.
 */
import type { Plan } from '../plan/schema.js';
import type { ProbesStore } from '../state/probes-store.js';

export type Uptime = Map<string, { date: string; availability: number | null }[]>;

const DAY_MS = 86_400_000;

/** The last `days` UTC days, oldest first, today included, for the components that list probes. */
export async function componentUptime(
  plan: Plan,
  probes: ProbesStore,
  componentIds: readonly string[],
  options: { days?: number; now?: number } = {},
): Promise<Uptime> {
  const days = options.days ?? 90;
  const now = options.now ?? Date.now();
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const uptime: Uptime = new Map();
  for (const id of componentIds) {
    const ids = plan.services?.[id]?.probes ?? [];
    if (ids.length === 0) continue;
    const row: { date: string; availability: number | null }[] = [];
    for (let d = days - 1; d >= 0; d--) {
      const from = today - d * DAY_MS;
      const summaries = await probes.summaries(ids, from, Math.min(from + DAY_MS, now + 1));
      let checks = 0;
      let failures = 0;
      for (const s of summaries.values()) {
        checks += s.checks;
        failures += s.failures;
      }
      row.push({
        date: new Date(from).toISOString().slice(0, 10),
        availability: checks === 0 ? null : (checks - failures) / checks,
      });
    }
    uptime.set(id, row);
  }
  return uptime;
}
