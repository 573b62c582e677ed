import { ManualClock } from '../../src/clock';
import { InMemoryOtpService } from '../../src/services/otp/otpService';
import type { OutboundSms, SmsSender } from '../../src/services/types';
import { behavesAsAnOtpService } from '../support/otpServiceBehaviour';

function setUp() {
  const clock = new ManualClock();
  const sent: OutboundSms[] = [];
  const sms: SmsSender = {
    send: async (m) => {
      sent.push(m);
      return {};
    },
  };
  const otp = new InMemoryOtpService(sms, clock);
  const lastCode = () => /\b(\d{6})\b/.exec(sent[sent.length - 1]!.body)![1]!;
  return { clock, sent, otp, lastCode };
}

describe('InMemoryOtpService', () => behavesAsAnOtpService(setUp));

