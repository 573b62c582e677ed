import { ManualClock } from '../../src/clock';
import { DEDUPE_RETENTION_MS, InMemoryContactActivity, InMemoryMessageDedupe, InMemoryOptOuts, ownCopy, SeparateArrivals } from '../../src/pipeline/contacts';

const HOUR = 60 * 60 * 1000;

describe('the in-memory contact stores (one instance, no Redis)', () => {
  it('see a message once within the retention, and again after it', async () => {
    const clock = new ManualClock();
    const dedupe = new InMemoryMessageDedupe(clock);
    expect(await dedupe.firstSeen('SM1')).toBe(true);
    expect(await dedupe.firstSeen('SM1')).toBe(false);
    clock.advance(DEDUPE_RETENTION_MS - 1);
    expect(await dedupe.firstSeen('SM1')).toBe(false);
    clock.advance(1);
    expect(await dedupe.firstSeen('SM2')).toBe(true);
    // SM1 expired (and was dropped by the add above): it is new again, and kept a full retention.
    expect(await dedupe.firstSeen('SM1')).toBe(true);
    clock.advance(DEDUPE_RETENTION_MS - 1);
    expect(await dedupe.firstSeen('SM1')).toBe(false);
    expect(await dedupe.firstSeen('SM2')).toBe(false);
  });

  it('tell apart every message of a busy day and more (50,000, one every 2 s), the oldest expiring on the way', async () => {
    const clock = new ManualClock();
    const dedupe = new InMemoryMessageDedupe(clock, Infinity);
    let firsts = 0;
    for (let i = 0; i < 50_000; i++) {
      clock.advance(2_000);
      if (await dedupe.firstSeen(`SM${i}`)) firsts++;
    }
    expect(firsts).toBe(50_000);
    expect(await dedupe.firstSeen('SM49999')).toBe(false);
    // Sent 27.8 hours ago: past the retention, so it counts as new.
    expect(await dedupe.firstSeen('SM0')).toBe(true);
  });

  it('keep the newest messages when more come within the day than the cap holds', async () => {
    const clock = new ManualClock();
    const dedupe = new InMemoryMessageDedupe(clock, 3);
    for (const sid of ['SM1', 'SM2', 'SM3', 'SM4']) expect(await dedupe.firstSeen(sid)).toBe(true);
    // SM1, the oldest, made room for SM4; the three newest are still known.
    expect(await dedupe.firstSeen('SM4')).toBe(false);
    expect(await dedupe.firstSeen('SM3')).toBe(false);
    expect(await dedupe.firstSeen('SM2')).toBe(false);
    expect(await dedupe.firstSeen('SM1')).toBe(true);
  });

  it('remember when a contact last wrote for 25 hours, and move a contact that writes again to the newest', async () => {
    const clock = new ManualClock();
    const contacts = new InMemoryContactActivity(clock);
    await contacts.recordInbound('+212600000001');
    await contacts.recordInbound('+212600000002');
    clock.advance(HOUR);
    await contacts.recordInbound('+212600000001');
    clock.advance(24 * HOUR + 1);
    await contacts.recordInbound('+212600000003');
    // The second wrote 25 h ago and is forgotten; the first wrote again an hour later and is not.
    expect(await contacts.lastInboundAt('+212600000002')).toBeUndefined();
    expect(await contacts.lastInboundAt('+212600000001')).toBe(clock.now() - 24 * HOUR - 1);
    expect(await contacts.lastInboundAt('+212600000003')).toBe(clock.now());
  });

  it('as one arrival step: a retry changes nothing, an SMS opens no WhatsApp window, an opt-out is told', async () => {
    const clock = new ManualClock();
    const stores = { dedupe: new InMemoryMessageDedupe(clock), contacts: new InMemoryContactActivity(clock), optOuts: new InMemoryOptOuts() };
    const arrivals = new SeparateArrivals(stores);
    expect(await arrivals.arrive({ id: 'SM1', channel: 'sms', contact: '+212600000001' })).toEqual({ firstSeen: true, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await stores.contacts.lastInboundAt('+212600000001')).toBeUndefined();
    expect(await arrivals.arrive({ id: 'SM2', channel: 'whatsapp', contact: '+212600000001' })).toEqual({ firstSeen: true, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await stores.contacts.lastInboundAt('+212600000001')).toBe(clock.now());
    await stores.optOuts.optOut('+212600000001');
    expect(await arrivals.arrive({ id: 'SM2', channel: 'whatsapp', contact: '+212600000001' })).toEqual({ firstSeen: false, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await arrivals.arrive({ id: 'SM3', channel: 'whatsapp', contact: '+212600000001' })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
  });
});

describe('the in-memory dedupe of a message claimed while its turn runs (Kannel)', () => {
  const LEASE = 90_000;
  const claim = (token: string) => ({ token, leaseMs: LEASE });

  it('holds it in progress for the lease, then handled for the day once marked so', async () => {
    const clock = new ManualClock();
    const dedupe = new InMemoryMessageDedupe(clock);
    expect(await dedupe.claim('kannel:1', '+212600000001', claim('a'))).toBe('new');
    // A retry while the turn runs: in progress, never a second turn.
    expect(await dedupe.claim('kannel:1', '+212600000001', claim('b'))).toBe('in-progress');
    await dedupe.handled('kannel:1', '+212600000001');
    expect(await dedupe.claim('kannel:1', '+212600000001', claim('c'))).toBe('handled');
    clock.advance(DEDUPE_RETENTION_MS - 1);
    expect(await dedupe.claim('kannel:1', '+212600000001', claim('c'))).toBe('handled');
    clock.advance(1);
    expect(await dedupe.claim('kannel:1', '+212600000001', claim('d'))).toBe('new');
  });

  it('takes a retry after the lease (the instance died mid-turn) as new, under its own claim', async () => {
    const clock = new ManualClock();
    const dedupe = new InMemoryMessageDedupe(clock);
    // Messages handled before it, kept for the day: the expired claim behind them is found all the same.
    expect(await dedupe.firstSeen('SM0')).toBe(true);
    expect(await dedupe.claim('kannel:2', '+212600000002', claim('dead'))).toBe('new');
    clock.advance(LEASE - 1);
    expect(await dedupe.claim('kannel:2', '+212600000002', claim('b'))).toBe('in-progress');
    clock.advance(1);
    expect(await dedupe.claim('kannel:2', '+212600000002', claim('alive'))).toBe('new');
    // The dead claim cannot give up the living one's hold.
    await dedupe.release('kannel:2', '+212600000002', 'dead');
    expect(await dedupe.claim('kannel:2', '+212600000002', claim('c'))).toBe('in-progress');
    await dedupe.handled('kannel:2', '+212600000002');
    clock.advance(LEASE);
    expect(await dedupe.claim('kannel:2', '+212600000002', claim('d'))).toBe('handled');
    expect(await dedupe.firstSeen('SM0')).toBe(false);
  });

  it('forgets a released claim: the retry of a turn that failed is handled', async () => {
    const clock = new ManualClock();
    const dedupe = new InMemoryMessageDedupe(clock);
    expect(await dedupe.claim('kannel:3', '+212600000003', claim('a'))).toBe('new');
    await dedupe.release('kannel:3', '+212600000003', 'a');
    expect(await dedupe.claim('kannel:3', '+212600000003', claim('b'))).toBe('new');
    // Released after it was handled (too late): it stays handled.
    await dedupe.handled('kannel:3', '+212600000003');
    await dedupe.release('kannel:3', '+212600000003', 'b');
    expect(await dedupe.claim('kannel:3', '+212600000003', claim('c'))).toBe('handled');
  });

  it('as the arrival step: in progress, then handled; a claimed retry changes nothing else', async () => {
    const clock = new ManualClock();
    const stores = { dedupe: new InMemoryMessageDedupe(clock), contacts: new InMemoryContactActivity(clock), optOuts: new InMemoryOptOuts() };
    const arrivals = new SeparateArrivals(stores);
    const message = { id: 'kannel:4', channel: 'sms' as const, contact: '+212600000004' };
    expect(await arrivals.arrive({ ...message, claim: claim('a') })).toEqual({ firstSeen: true, inProgress: false, optedOut: false, optedBackIn: false });
    await stores.optOuts.optOut(message.contact);
    expect(await arrivals.arrive({ ...message, claim: claim('b') })).toEqual({ firstSeen: false, inProgress: true, optedOut: false, optedBackIn: false });
    await arrivals.handled(message);
    expect(await arrivals.arrive({ ...message, claim: claim('c') })).toEqual({ firstSeen: false, inProgress: false, optedOut: false, optedBackIn: false });
    const failed = { ...message, id: 'kannel:5' };
    expect(await arrivals.arrive({ ...failed, claim: claim('d') })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    await arrivals.release(failed, 'd');
    expect(await arrivals.arrive({ ...failed, claim: claim('e') })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
  });
});

describe('the in-memory arrival step, after a STOP', () => {
  it('opts the sender back in when the message reopens an opt-out (the pipeline asks on WhatsApp), and only then', async () => {
    const clock = new ManualClock();
    const stores = { dedupe: new InMemoryMessageDedupe(clock), contacts: new InMemoryContactActivity(clock), optOuts: new InMemoryOptOuts() };
    const arrivals = new SeparateArrivals(stores);
    const contact = '+212600000009';
    await stores.optOuts.optOut(contact);
    // An SMS (or a second STOP) does not reopen: still out.
    expect(await arrivals.arrive({ id: 'SM1', channel: 'sms', contact })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    expect(await arrivals.arrive({ id: 'SM2', channel: 'whatsapp', contact, reopensOptOut: false })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    expect(await stores.optOuts.isOptedOut(contact)).toBe(true);
    // A message that reopens: back in, for every later message too.
    expect(await arrivals.arrive({ id: 'SM3', channel: 'whatsapp', contact, reopensOptOut: true })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: true });
    expect(await stores.optOuts.isOptedOut(contact)).toBe(false);
    expect(await arrivals.arrive({ id: 'SM4', channel: 'whatsapp', contact, reopensOptOut: true })).toEqual({ firstSeen: true, inProgress: false, optedOut: false, optedBackIn: false });
    // A provider's retry of a message changes nothing, even one that would reopen.
    await stores.optOuts.optOut(contact);
    expect(await arrivals.arrive({ id: 'SM3', channel: 'whatsapp', contact, reopensOptOut: true })).toEqual({ firstSeen: false, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await stores.optOuts.isOptedOut(contact)).toBe(true);
  });
});

describe('ownCopy', () => {
  it('gives back the same text, whatever it holds', () => {
    for (const text of ['SM0123456789abcdef0123456789abcdef', '+212612345678', 'سلام 👋', 'a\ud800b', '']) expect(ownCopy(text)).toBe(text);
  });
});
