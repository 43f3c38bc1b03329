/**
 * The channel registry: one factory per plan channel type that Lifeboat sends through.
 * Types left out (whatsapp, statuspage, other) have no sender: the stakeholder matrix skips
 * them and says so, and the status page is updated by its own module.
 */
import type { ChannelKind, ChannelType } from './channel.js';
import { discordChannel } from './discord.js';
import { emailChannel } from './email.js';
import { pagerdutyChannel } from './pagerduty.js';
import { slackChannel } from './slack.js';
import { teamsChannel } from './teams.js';
import { twilioSmsChannel } from './twilio-sms.js';
import { twilioVoiceChannel } from './twilio-voice.js';
import { webhookChannel } from './webhook.js';

export const channelKinds: Partial<Record<ChannelType, ChannelKind>> = {
  slack: slackChannel,
  teams: teamsChannel,
  discord: discordChannel,
  email: emailChannel,
  webhook: webhookChannel,
  pagerduty: pagerdutyChannel,
  sms: twilioSmsChannel,
  phone: twilioVoiceChannel,
};

export type * from './channel.js';
