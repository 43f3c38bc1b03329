/**
 * During a Patroni drill: who leads, read from /cluster every tenth of a second through any
 * member that answers (the one Lifeboat was pointed at may be the one going down). The first
 * moment another member holds the leader lock is where the drill's fence check starts: the
 * old leader must acknowledge nothing from then on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { patroniClient, type PatroniMember } from '../respond/patroni/client.js';
import { isLeader } from '../respond/patroni/handover-plan.js';

export interface LeadershipWatch {
  /** Epoch ms when a member other than `from` was first seen leading; undefined: not yet. */
  readonly changedAt: number | undefined;
  /** That member's name. */
  readonly newLeader: string | undefined;
  stop(): Promise<void>;
}

/** Starts polling; `from` is the leader before the fault. Default interval: 100 ms. */
export function watchLeadership(apiUrls: string[], from: string, intervalMs = 100): LeadershipWatch {
  const apis = [...new Set(apiUrls)].map((url) => patroniClient(url, { timeoutMs: 1000 }));
  let changedAt: number | undefined;
  let newLeader: string | undefined;
  let stopped = false;
  const loop = (async () => {
    while (!stopped && changedAt === undefined) {
      const at = Date.now();
      const other = (await leaders(apis)).find((m) => m.name !== from);
      if (other) {
        changedAt = at;
        newLeader = other.name;
      }
      await sleep(intervalMs);
    }
  })();
  return {
    get changedAt() {
      return changedAt;
    },
    get newLeader() {
      return newLeader;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** The leaders the first answering member lists; none when no member answers. */
export async function leaders(apis: ReturnType<typeof patroniClient>[]): Promise<PatroniMember[]> {
  for (const api of apis) {
    try {
      return (await api.cluster()).members.filter(isLeader);
    } catch {
      // Mid-handover a member may not answer: ask the next.
    }
  }
  return [];
}
