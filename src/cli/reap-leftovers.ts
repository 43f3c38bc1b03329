/**
 * Before a command starts or verifies anything: stop the throwaway servers that a killed
 * Lifeboat process left running, and say so on stderr — a JSON line with --json, like the
 * command's other progress events, so that a reader of the stream can parse every line.
 */
import { describeReaped, reapLeftoverInstances } from '../system/instance-records.js';

export async function reapLeftovers(json: boolean): Promise<void> {
  for (const instance of await reapLeftoverInstances()) {
    const message = describeReaped(instance);
    process.stderr.write(
      json ? JSON.stringify({ event: 'reaped', message }) + '\n' : `lifeboat: ${message}\n`,
    );
  }
}
