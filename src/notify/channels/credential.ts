/**
 * A channel's credential or setting from the plan, resolved when a message is sent. What is
 * missing is a refusal (not retryable): no retry fixes a plan that names no webhook.
 */
import { describeError, LifeboatError } from '../../errors.js';
import { DeliveryError } from '../delivery-error.js';
import type { ChannelConfig, ChannelContext } from './channel.js';

type Field = 'webhook' | 'smtp' | 'routing_key' | 'api_key' | 'url' | 'from';

/** The field's value, through `env:`/`file:` when it is a reference. */
export function channelSetting(
  id: string,
  config: ChannelConfig,
  field: Field,
  context: ChannelContext,
): string {
  const value = config[field];
  if (value === undefined)
    throw new DeliveryError(`channels.${id} has no \`${field}\`, which a ${config.type} channel needs`, {
      retryable: false,
      hint: `add \`${field}\` to channels.${id} in the plan`,
    });
  try {
    return context.secret(value);
  } catch (cause) {
    // The reference names the variable or file, never the value: safe to repeat.
    throw new DeliveryError(
      `channels.${id}.${field}: ${cause instanceof LifeboatError ? describeError(cause) : String(cause)}`,
      { retryable: false, cause },
    );
  }
}

/** The first of these fields the channel sets. */
export function firstSetting(
  id: string,
  config: ChannelConfig,
  fields: readonly Field[],
  context: ChannelContext,
): string {
  const field = fields.find((name) => config[name] !== undefined) ?? fields[0]!;
  return channelSetting(id, config, field, context);
}
