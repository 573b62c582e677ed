import { ManualClock } from '../../src/clock';
import { DELIVERY_TRACKING_TTL_MS, InMemoryDeliveryTracker } from '../../src/services/sms/deliveryTracker';

const TO = '+212612345678';
const otp = (conversationKey = 'c1') => ({ purpose: 'otp' as const, conversationKey, to: TO });

function setUp(options?: { maxEntries?: number }) {
  const clock = new ManualClock();
  return { clock, tracker: new InMemoryDeliveryTracker(clock, options) };
}

describe('InMemoryDeliveryTracker', () => {
  it('ties a status report back to the SMS, its purpose and conversation', async () => {
    const { tracker } = setUp();
    await tracker.sent('SM1', { purpose: 'password', conversationKey: 'c1', to: TO });
    expect(await tracker.report('SM1', 'sent')).toEqual({ purpose: 'password', conversationKey: 'c1', to: TO, failed: false });
    expect(await tracker.report('SM1', 'delivered')).toEqual({ purpose: 'password', conversationKey: 'c1', to: TO, failed: false });
  });

  it.each(['failed', 'undelivered'])('reports "%s" as a failure, with its error code', async (status) => {
    const { tracker } = setUp();
    await tracker.sent('SM1', otp());
    expect(await tracker.report('SM1', status, 30003)).toEqual({ ...otp(), failed: true, errorCode: 30003 });
  });

  it('reads the error code as Twilio posts it: a form string', async () => {
    const { tracker } = setUp();
    await tracker.sent('SM1', otp());
    expect(await tracker.report('SM1', 'failed', '21610')).toMatchObject({ failed: true, errorCode: 21610 });
    expect(await tracker.report('SM1', 'failed', '')).not.toHaveProperty('errorCode');
  });

  it('knows nothing of an SMS it did not send', async () => {
    const { tracker } = setUp();
    expect(await tracker.report('SMunknown', 'failed', 30005)).toBeUndefined();
  });

  it('says when the latest OTP of a conversation failed, until a new OTP is sent', async () => {
    const { tracker } = setUp();
    await tracker.sent('SM1', otp());
    expect(await tracker.otpDeliveryFailed('c1')).toBe(false);
    await tracker.report('SM1', 'undelivered', 30003);
    expect(await tracker.otpDeliveryFailed('c1')).toBe(true);
    expect(await tracker.otpDeliveryFailed('c2')).toBe(false);

    await tracker.sent('SM2', otp());
    expect(await tracker.otpDeliveryFailed('c1')).toBe(false);
    // A late report about the older OTP does not concern the one the user is waiting for.
    await tracker.report('SM1', 'failed', 30003);
    expect(await tracker.otpDeliveryFailed('c1')).toBe(false);
  });

  it('a password SMS, failed or not, does not change what is known of the OTP', async () => {
    const { tracker } = setUp();
    await tracker.sent('SM1', otp());
    await tracker.report('SM1', 'failed');
    await tracker.sent('SM2', { purpose: 'password', conversationKey: 'c1', to: TO });
    expect(await tracker.otpDeliveryFailed('c1')).toBe(true);
  });

  it('keeps a failure when reports arrive out of order', async () => {
    const { tracker } = setUp();
    await tracker.sent('SM1', otp());
    await tracker.report('SM1', 'undelivered', 30003);
    expect(await tracker.report('SM1', 'sent')).toMatchObject({ failed: false });
    expect(await tracker.otpDeliveryFailed('c1')).toBe(true);
  });

  it('forgets what it sent after 24 hours', async () => {
    const { tracker, clock } = setUp();
    await tracker.sent('SM1', otp());
    await tracker.report('SM1', 'failed');
    clock.advance(DELIVERY_TRACKING_TTL_MS - 1);
    expect(await tracker.otpDeliveryFailed('c1')).toBe(true);
    clock.advance(1);
    expect(await tracker.otpDeliveryFailed('c1')).toBe(false);
    expect(await tracker.report('SM1', 'failed')).toBeUndefined();
  });

  it('holds at most its capacity, dropping the oldest first', async () => {
    const { tracker } = setUp({ maxEntries: 2 });
    await tracker.sent('SM1', otp('c1'));
    await tracker.sent('SM2', otp('c2'));
    await tracker.sent('SM3', otp('c3'));
    expect(await tracker.report('SM1', 'delivered')).toBeUndefined();
    expect(await tracker.report('SM2', 'delivered')).toMatchObject({ conversationKey: 'c2' });
    expect(await tracker.report('SM3', 'delivered')).toMatchObject({ conversationKey: 'c3' });
  });
});
