/** Narrowing the plan's probes by what they look at, so that callers need not name the kinds. */
import type { Probe } from './schema.js';

/** A probe of a data store server (PostgreSQL, MySQL, Redis): it names a dataset or a URL. */
export type StoreProbe = Extract<Probe, { type: 'postgres' | 'mysql' | 'redis' }>;

/** The probe when it checks a PostgreSQL server, else undefined. */
export function postgresProbe(probe: Probe): StoreProbe | undefined {
  return probe.type === 'postgres' ? probe : undefined;
}
