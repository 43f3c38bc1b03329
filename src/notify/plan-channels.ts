/**
 * The plan's channels, built once: what the outbox worker sends through. Credentials are
 * resolved at each send (plan/secret.ts), so a rotated secret file is picked up without a
 * restart and a missing one fails that message alone.
 */
import { isSecretRef, resolveSecret } from '../plan/secret.js';
import type { Plan } from '../plan/schema.js';
import type { Channel } from './channels/channel.js';
import { channelKinds } from './channels/index.js';

export interface ChannelSet {
  /** Undefined when the plan has no such channel, or one Lifeboat cannot send through. */
  get(id: string): Channel | undefined;
  /** A destination as stored (`env:ONCALL_PHONE`, or a number) → what the provider is given. */
  address(stored: string): string;
}

export interface PlanChannelsOptions {
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per-request timeout. Default: 30 s. */
  timeoutMs?: number;
}

export function planChannels(plan: Plan, planDir: string, options: PlanChannelsOptions = {}): ChannelSet {
  const secret = (ref: string) => resolveSecret(ref, planDir, options.env);
  const channels = new Map<string, Channel>();
  for (const [id, config] of Object.entries(plan.channels ?? {})) {
    const kind = channelKinds[config.type];
    if (kind) channels.set(id, kind.create(id, config, { secret, timeoutMs: options.timeoutMs }));
  }
  return {
    get: (id) => channels.get(id),
    address: (stored) => (isSecretRef(stored) ? secret(stored) : stored),
  };
}
