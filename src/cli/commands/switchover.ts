/**
 * lifeboat switchover DATASET: the planned handover, with no loss. Clients are held at the
 * router, the standby replays everything the primary wrote, the primary stops cleanly, the
 * standby is promoted and clients are released to it. When the standby cannot catch up, the
 * clients go back to the old primary and nothing is lost.
 */
import type { CommandContext } from '../command.js';
import { runHandoverCommand } from './failover.js';

export function run(args: string[], _context: CommandContext): Promise<number> {
  return runHandoverCommand('switchover', args);
}
