/**
 * Before a command starts or verifies anything: stop the throwaway servers that a killed
 * Lifeboat process left running, and say so on stderr.
 */
import { describeReaped, reapLeftoverInstances } from '../system/instance-records.js';

export async function reapLeftovers(): Promise<void> {
  for (const instance of await reapLeftoverInstances())
    process.stderr.write(`lifeboat: ${describeReaped(instance)}\n`);
}
