/** `promtool check metrics` on an exposition: Prometheus's own parser and linter. For tests. */
import { spawnSync } from 'node:child_process';

/** Its complaints, one per line; empty when the exposition parses and follows the conventions. */
export function promtoolCheck(exposition: string): string {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error) {
    // Missing is a failure, not a skip: scripts/setup.sh installs it (Debian package prometheus).
    throw new Error(`promtool cannot run (${result.error.message}): run sh scripts/setup.sh as root`);
  }
  return `${result.stdout}${result.stderr}`.trim() + (result.status === 0 ? '' : `\n(exit ${result.status})`);
}
