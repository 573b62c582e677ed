import type { TurnContext } from 'botbuilder';
import type { Clock } from '../src/clock';
import type { ReferenceData } from '../src/data/load';
import type { Logger } from '../src/log';
import type { ConversationMetrics } from '../src/metrics/funnel';
import type { FollowUps } from '../src/services/followUp/followUpService';
import type { OfficeFinder } from '../src/services/offices/officeFinder';
import type { LookupGuard } from '../src/services/lookupGuard';
import type { OtpService } from '../src/services/otp/otpService';
import type { DeliveryTracker } from '../src/services/sms/deliveryTracker';
import type { Registry, SmsSender } from '../src/services/types';

/** What dialogs may use of the outside world: interfaces only, chosen by the composition root. */
export interface DialogDeps {
  data: ReferenceData;
  registry: Registry;
  lookupGuard: LookupGuard;
  otp: OtpService;
  sms: SmsSender;
  /** Delivery reports of the SMS sent (a failed OTP is told to the user). */
  smsDelivery: Pick<DeliveryTracker, 'otpDeliveryFailed'>;
  offices: OfficeFinder;
  clock: Clock;
  log: Logger;
  /** The funnel: steps reached, re-asked questions, outcomes. Step and outcome names only. */
  metrics: ConversationMetrics;
  /** The follow-up after outcome C (offered, made with a yes, cancelled). */
  followUps: FollowUps;
}

/** The key OTPs are filed under: one conversation, whatever the channel. */
export function conversationKey(turn: TurnContext): string {
  const { channelId, conversation } = turn.activity;
  return `${channelId}:${conversation?.id ?? ''}`;
}
