/**
 * lifeboat watch [DATASET...]: the failover monitor (runWatch). Runs in the foreground until
 * SIGINT or SIGTERM; one line per event on stdout (a JSON object per line with --json). SIGHUP
 * reads the plan again, so that the watch learns the servers a person added after a failover.
 */
import { ExitCode } from '../../errors.js';
import { runWatch, type WatchEvent } from '../../respond/watch.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import type { ProtectContext } from '../../protect/context.js';
import { openPlan, withPlan } from '../open-plan.js';
import { ownShutdownUntilDone } from '../shutdown.js';

const USAGE = `[DATASET...] [--plan FILE] [--json]

Watches the primary of each PostgreSQL dataset with a standby URL (all of them unless
named). A primary that fails its probes for replication.detect_after (default 3s) is lost;
then the scenario whose detect probes name the dataset and whose runbook fails it over
decides: automatic (restart in place first when replication.restart_in_place and only
PostgreSQL crashed, else fail over), or approval (report, and wait for a person to run
lifeboat failover). A dataset no such scenario covers is only reported.

A lifeboat switchover or failover of the same dataset and Lifeboat home announces itself
before it changes anything: the watch reports "paused" and declares no loss until it ends
("resumed"), then follows the new primary. An announcement whose process died or that
overran its deadline is ignored ("stale-handover").

After a failover (its own or one it was told of) the watch goes on: it watches the new
primary with the same detector ("following") and guards the old one: should it serve
writes again, it is stopped, or made read-only when its host is out of reach. A standby
that streams from the new primary becomes the next failover target ("standby-attached")
when it is a server the plan names: the old primary rejoined (pg_rewind), or a server
the plan names after you edit it and send SIGHUP. Until then a loss of the new primary is
reported ("no-standby"), never failed over to a server Lifeboat cannot name.

SIGHUP reads the plan again: the servers it names become known, and a data directory it
gives for the primary being watched is used to stop it on a failover. The primary
watched, the decision and detect_after stay those of the start: restart the watch to
change them. SIGINT or SIGTERM stops watching; a failover in progress finishes first;
exit 0.`;

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
    let onHangup: (() => void) | undefined;
    // Each reading of the plan is closed once the watch has taken what it names.
    const reloadPlan = async (reload: (next: () => ProtectContext) => Promise<void>) => {
      let next: ProtectContext | undefined;
      try {
        await reload(() => (next ??= openPlan(parsed.string('plan'))));
      } finally {
        await next?.close().catch(() => undefined);
      }
    };
    const interrupt = ownShutdownUntilDone((signal, first) => {
      if (first) write({ dataset: '*', event: 'stopping', message: `${signal} received: stopping` });
    });
    try {
      await runWatch(context, {
        datasets: parsed.positionals,
        signal: interrupt.signal,
        onEvent: write,
        onPlanReload: (reload) => {
          onHangup = () => void reloadPlan(reload);
          process.on('SIGHUP', onHangup);
        },
      });
      return ExitCode.ok;
    } finally {
      if (onHangup) process.off('SIGHUP', onHangup);
      interrupt.dispose();
    }
  });
}
