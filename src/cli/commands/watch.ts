/**
 * lifeboat watch [DATASET...]: the failover monitor (runWatch). Runs in the foreground until
 * SIGINT or SIGTERM; one line per event on stdout (a JSON object per line with --json).
 */
import { ExitCode } from '../../errors.js';
import { runWatch, type WatchEvent } from '../../respond/watch.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { withPlan } from '../open-plan.js';
import { ownShutdownUntilDone } from '../shutdown.js';

const USAGE = `[DATASET...] [--plan FILE] [--json]

Watches the primary of each PostgreSQL dataset with a standby URL (all of them unless
named). A primary that fails its probes for replication.detect_after (default 3s) is lost;
then the scenario whose detect probes name the dataset and whose runbook fails it over
decides: automatic (restart in place first when replication.restart_in_place and only
PostgreSQL crashed, else fail over), or approval (report, and wait for a person to run
lifeboat failover). A dataset no such scenario covers is only reported.
After a failover the old primary is marked to start read-only (standby.signal in its data
directory, when Lifeboat runs on its host), and guarded while the watch runs: should it
serve writes again, it is stopped, or made read-only when its host is out of reach.
SIGINT or SIGTERM stops watching; a failover in progress finishes first; exit 0.`;

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs('watch', args, {}, USAGE);
  const json = parsed.flag('json');
  /** With --json also `at` (ISO time) and the event's own fields. */
  const write = (event: WatchEvent) => {
    const line = { at: new Date().toISOString(), ...event };
    process.stdout.write(
      (json ? JSON.stringify(line) : `${line.at} ${line.dataset}: ${line.message}`) + '\n',
    );
  };
  return withPlan(parsed.string('plan'), async (context) => {
    const interrupt = ownShutdownUntilDone((signal, first) => {
      if (first) write({ dataset: '*', event: 'stopping', message: `${signal} received: stopping` });
    });
    try {
      await runWatch(context, { datasets: parsed.positionals, signal: interrupt.signal, onEvent: write });
      return ExitCode.ok;
    } finally {
      interrupt.dispose();
    }
  });
}
