/** The audit log a CLI run left beside its plan, for tests. */
import { dirname, join } from 'node:path';
import { openStateStore } from '../../state/store.js';

/** The newest audit entry of `action` in the state store of the plan at `planFile`. */
export async function newestAudit(planFile: string, action: string) {
  const store = await openStateStore({ path: join(dirname(planFile), '.lifeboat', 'state.db') });
  try {
    const [entry] = await store.listAudit({ action, limit: 1 });
    return entry;
  } finally {
    await store.close();
  }
}
