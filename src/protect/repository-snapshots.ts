/** Reading this plan's snapshots from a restic repository that may not exist yet. */
import { EnvironmentError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import type { Snapshot } from '../engines/restic/output.js';
import { TAG_LIFEBOAT, slug } from './tags.js';

/** The restic tags every snapshot of this plan's organization carries. */
export function planTags(plan: Plan): string[] {
  return [TAG_LIFEBOAT, `org=${slug(plan.organization)}`];
}

/** The snapshots, or undefined when the repository was never initialised (nothing to prune or read). */
export async function listOrNothing(list: () => Promise<Snapshot[]>): Promise<Snapshot[] | undefined> {
  try {
    return await list();
  } catch (error) {
    if (error instanceof EnvironmentError && error.details?.reason === 'repository-missing') return undefined;
    throw error;
  }
}
