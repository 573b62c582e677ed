import type { OtpSendResult, OtpService, OtpVerifyResult } from '../services/otp/otpService';
import type { Locale, OutboundSms, SmsSender } from '../services/types';
import { isSimulatedTraffic } from '../pipeline/trafficSource';

/*
 * With Twilio configured and the simulator enabled (a staging deployment), a simulated
 * conversation must never text a real phone: its sender is a made-up number ("New user") that may
 * well be someone's. These route the simulator's SMS to the dev outbox (the page's inbox) and its
 * codes to our own OTP service over that outbox; real traffic goes where it always did.
 */

export class SimulatorAwareSmsSender implements SmsSender {
  constructor(
    private readonly real: SmsSender,
    private readonly simulated: SmsSender,
  ) {}

  send(sms: OutboundSms): Promise<{ id?: string }> {
    return (isSimulatedTraffic() ? this.simulated : this.real).send(sms);
  }
}

export class SimulatorAwareOtpService implements OtpService {
  constructor(
    private readonly real: OtpService,
    private readonly simulated: OtpService,
  ) {}

  send(conversationKey: string, phone: string, locale: Locale): Promise<OtpSendResult> {
    return this.pick().send(conversationKey, phone, locale);
  }

  verify(conversationKey: string, code: string): Promise<OtpVerifyResult> {
    return this.pick().verify(conversationKey, code);
  }

  async forget(conversationKey: string): Promise<void> {
    await Promise.all([this.real.forget(conversationKey), this.simulated.forget(conversationKey)]);
  }

  private pick(): OtpService {
    return isSimulatedTraffic() ? this.simulated : this.real;
  }
}
