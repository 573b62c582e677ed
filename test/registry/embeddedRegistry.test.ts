import { join } from 'node:path';
import { ManualClock } from '../../src/clock';
import {
  ACTIVATION_REPLAY_WINDOW_MS,
  EmbeddedRegistry,
  generateTemporaryPassword,
  TEMPORARY_PASSWORD_ALPHABET,
} from '../../src/services/registry/embeddedRegistry';
import { ActivationRefusedError, decideLookup, decidePasswordReset, type Person } from '../../src/services/registry/rules';
import type { IdentityQuery } from '../../src/services/types';

const SAMPLE_FILE = join(__dirname, '..', '..', 'data', 'sample-people.csv');

/** The sample people of data/README.md, as a tester types them. */
const A: IdentityQuery = { idType: 'CNIE', idNumber: 'AB123456', birthDate: '1985-03-14', idExpiryDate: '2031-06-30' };
const B1: IdentityQuery = { idType: 'CNIE', idNumber: 'BE654321', birthDate: '1990-07-02', idExpiryDate: '2030-11-15' };
const B2: IdentityQuery = { idType: 'CNIE', idNumber: 'CD112233', birthDate: '1978-12-25', idExpiryDate: '2032-01-10' };
const SEJOUR: IdentityQuery = { idType: 'CARTE_SEJOUR', idNumber: 'E1234567', birthDate: '1982-09-09', idExpiryDate: '2029-12-31' };
const MISMATCH: IdentityQuery = { idType: 'CNIE', idNumber: 'K45678', birthDate: '1970-04-01', idExpiryDate: '2030-04-01' };
const D1: IdentityQuery = { idType: 'CNIE', idNumber: 'EF445566', birthDate: '1965-05-20', idExpiryDate: '2029-09-01' };
const D2: IdentityQuery = { idType: 'CNIE', idNumber: 'GH778899', birthDate: '1988-01-31', idExpiryDate: '2033-04-12' };
const C: IdentityQuery = { idType: 'CNIE', idNumber: 'ZZ999999', birthDate: '1980-01-01', idExpiryDate: '2030-01-01' };

function sampleRegistry(clock = new ManualClock()): EmbeddedRegistry {
  const { registry, problems } = EmbeddedRegistry.fromFile(SAMPLE_FILE, clock);
  expect(problems).toEqual([]);
  return registry;
}

describe('EmbeddedRegistry with the sample people', () => {
  it('A: registered with an account', async () => {
    await expect(sampleRegistry().lookUp(A)).resolves.toEqual({
      kind: 'registered',
      hasAccount: true,
      registrationNumber: '111222333',
    });
  });

  it('B: registered without an account (two people, and a residence card)', async () => {
    const registry = sampleRegistry();
    await expect(registry.lookUp(B1)).resolves.toEqual({ kind: 'registered', hasAccount: false, registrationNumber: '222333444' });
    await expect(registry.lookUp(B2)).resolves.toEqual({ kind: 'registered', hasAccount: false, registrationNumber: '333444555' });
    await expect(registry.lookUp(SEJOUR)).resolves.toEqual({ kind: 'registered', hasAccount: false, registrationNumber: '444555666' });
  });

  it('C: a number absent from the file is subject but not registered', async () => {
    await expect(sampleRegistry().lookUp(C)).resolves.toEqual({ kind: 'notRegistered' });
  });

  it('D: not subject, with the reason code', async () => {
    const registry = sampleRegistry();
    await expect(registry.lookUp(D1)).resolves.toEqual({ kind: 'notSubject', reasonCode: 'AMO_FONCTIONNAIRE' });
    await expect(registry.lookUp(D2)).resolves.toEqual({ kind: 'notSubject', reasonCode: 'AMO_SALARIE_CNSS' });
  });

  it('mismatch: names the kind of field only, never the registry value', async () => {
    const registry = sampleRegistry();
    const wrongBirth = await registry.lookUp({ ...MISMATCH, birthDate: '1971-04-01' });
    expect(wrongBirth).toEqual({ kind: 'mismatch', fields: ['birthDate'] });
    expect(JSON.stringify(wrongBirth)).not.toContain('1970');
    await expect(registry.lookUp({ ...MISMATCH, idExpiryDate: '2031-04-01' })).resolves.toEqual({
      kind: 'mismatch',
      fields: ['idExpiryDate'],
    });
    await expect(registry.lookUp({ ...MISMATCH, birthDate: '1971-04-01', idExpiryDate: '2031-04-01' })).resolves.toEqual({
      kind: 'mismatch',
      fields: ['birthDate', 'idExpiryDate'],
    });
  });

  it('mismatch comes before the status: a wrong birth date reveals nothing of a not-subject person', async () => {
    await expect(sampleRegistry().lookUp({ ...D1, birthDate: '1966-05-20' })).resolves.toEqual({
      kind: 'mismatch',
      fields: ['birthDate'],
    });
  });

  it('finds a number typed in lower case with spaces', async () => {
    await expect(sampleRegistry().lookUp({ ...A, idNumber: 'ab 123 456' })).resolves.toMatchObject({ kind: 'registered' });
  });

  it('keys on the document type too: the same number on a residence card is someone else', async () => {
    await expect(sampleRegistry().lookUp({ ...A, idType: 'CARTE_SEJOUR' })).resolves.toEqual({ kind: 'notRegistered' });
  });

  it('is ready', async () => {
    await expect(sampleRegistry().isReady()).resolves.toBe(true);
  });
});

describe('account activation', () => {
  const phone = '+212612345678';

  it('creates the account once: the person moves from B to A', async () => {
    const clock = new ManualClock();
    const registry = sampleRegistry(clock);
    const result = await registry.activateAccount({ ...B1, phone });
    expect(result.registrationNumber).toBe('222333444');
    expect(result.temporaryPassword).toMatch(/^[A-Za-z0-9]{10}$/);
    expect(registry.activationTime('CNIE', 'BE654321')).toBe(clock.now());
    await expect(registry.lookUp(B1)).resolves.toEqual({ kind: 'registered', hasAccount: true, registrationNumber: '222333444' });
    // The other B person is untouched, for the next tester.
    await expect(registry.lookUp(B2)).resolves.toMatchObject({ hasAccount: false });
  });

  it('refuses a second activation, an unknown person and a not-subject person, with a typed error', async () => {
    const registry = sampleRegistry();
    await registry.activateAccount({ ...B2, phone });
    await expect(registry.activateAccount({ ...B2, phone })).rejects.toMatchObject({
      name: 'ActivationRefusedError',
      reason: 'alreadyHasAccount',
    });
    await expect(registry.activateAccount({ ...A, phone })).rejects.toMatchObject({
      reason: 'alreadyHasAccount',
    });
    await expect(registry.activateAccount({ ...C, phone })).rejects.toBeInstanceOf(
      ActivationRefusedError,
    );
    await expect(registry.activateAccount({ ...D1, phone })).rejects.toMatchObject({
      reason: 'notSubject',
    });
  });

  it('checks the identity as a look-up does: a card number with a wrong date creates nothing', async () => {
    const registry = sampleRegistry();
    for (const wrong of [{ ...B1, birthDate: '1990-07-03' }, { ...B1, idExpiryDate: '2030-11-16' }]) {
      await expect(registry.activateAccount({ ...wrong, phone })).rejects.toMatchObject({ name: 'ActivationRefusedError', reason: 'identityMismatch' });
    }
    await expect(registry.lookUp(B1)).resolves.toMatchObject({ kind: 'registered', hasAccount: false });
  });

  it('never replays an activation, password included, to a request with a wrong date', async () => {
    const registry = sampleRegistry();
    await registry.activateAccount({ ...B2, phone }, { idempotencyKey: 'user-action-2' });
    await expect(registry.activateAccount({ ...B2, birthDate: '1978-12-26', phone }, { idempotencyKey: 'user-action-2' })).rejects.toMatchObject({
      reason: 'identityMismatch',
    });
  });

  it('answers a repeated idempotency key with the first answer for an hour, then refuses as for any second activation', async () => {
    const clock = new ManualClock();
    const registry = sampleRegistry(clock);
    const request = { ...B2, phone };
    const first = await registry.activateAccount(request, { idempotencyKey: 'user-action-1' });
    clock.advance(ACTIVATION_REPLAY_WINDOW_MS - 1);
    await expect(registry.activateAccount(request, { idempotencyKey: 'user-action-1' })).resolves.toEqual(first);
    await expect(registry.activateAccount({ ...B1, phone }, { idempotencyKey: 'user-action-1' })).rejects.toMatchObject({
      name: 'IdempotencyKeyReusedError',
    });
    clock.advance(1);
    await expect(registry.activateAccount(request, { idempotencyKey: 'user-action-1' })).rejects.toMatchObject({ reason: 'alreadyHasAccount' });
  });

  it("does not change the caller's rows", async () => {
    const people: Person[] = [
      { ...B1, status: 'REGISTERED', registrationNumber: '222333444', hasAccount: false },
    ];
    const registry = new EmbeddedRegistry(people, new ManualClock());
    await registry.activateAccount({ ...B1, phone });
    expect(people[0]).toMatchObject({ hasAccount: false });
  });
});

describe('a forgotten password', () => {
  const withAccount: Person = { ...A, status: 'REGISTERED', registrationNumber: '111222333', hasAccount: true, accountPhone: '+212612345632' };

  it.each<[string, Person | undefined, IdentityQuery, ReturnType<typeof decidePasswordReset>]>([
    ['an account with a phone: that phone, nothing else', withAccount, A, { kind: 'allowed', registrationNumber: '111222333', accountPhone: '+212612345632' }],
    ['the number known, a date wrong: refused before anything else is said', withAccount, { ...A, birthDate: '1985-03-15' }, { kind: 'refused', reason: 'identityMismatch' }],
    ['the other date wrong', withAccount, { ...A, idExpiryDate: '2031-07-30' }, { kind: 'refused', reason: 'identityMismatch' }],
    ['an account whose phone the registry does not know', { ...withAccount, accountPhone: undefined }, A, { kind: 'refused', reason: 'noAccountPhone' }],
    ['no account yet', { ...withAccount, hasAccount: false, accountPhone: undefined }, A, { kind: 'refused', reason: 'noAccount' }],
    ['not subject', { ...A, status: 'NOT_SUBJECT', nonSubjectReason: 'PENSIONNE' }, A, { kind: 'refused', reason: 'notSubject' }],
    ['nobody', undefined, A, { kind: 'refused', reason: 'unknownPerson' }],
  ])('%s', (_name, person, query, decision) => {
    expect(decidePasswordReset(person, query)).toEqual(decision);
  });

  it('an activation records the phone, and a reset for that phone only gives a new password each time', async () => {
    const registry = sampleRegistry();
    await expect(registry.lookUpAccountPhone(B1)).rejects.toMatchObject({ name: 'PasswordResetRefusedError', reason: 'noAccount' });
    await registry.activateAccount({ ...B1, phone: '+212611223344' });
    expect(await registry.lookUpAccountPhone(B1)).toEqual({ phone: '+212611223344' });
    await expect(registry.resetPassword({ ...B1, phone: '+212699999999' })).rejects.toMatchObject({ reason: 'accountPhoneChanged' });
    const first = await registry.resetPassword({ ...B1, phone: '+212611223344' });
    const second = await registry.resetPassword({ ...B1, phone: '+212611223344' });
    expect(first.registrationNumber).toBe('222333444');
    expect(second.temporaryPassword).not.toBe(first.temporaryPassword);
  });

  it('answers a repeated idempotency key with the first password for an hour, then forgets it', async () => {
    const clock = new ManualClock();
    const registry = sampleRegistry(clock);
    const request = { ...A, phone: '+212612345632' };
    const first = await registry.resetPassword(request, { idempotencyKey: 'reset-1' });
    clock.advance(ACTIVATION_REPLAY_WINDOW_MS - 1);
    await expect(registry.resetPassword(request, { idempotencyKey: 'reset-1' })).resolves.toEqual(first);
    // Never to a request with a wrong date, whatever key it carries.
    await expect(registry.resetPassword({ ...request, idExpiryDate: '2031-07-01' }, { idempotencyKey: 'reset-1' })).rejects.toMatchObject({ reason: 'identityMismatch' });
    clock.advance(1);
    expect((await registry.resetPassword(request, { idempotencyKey: 'reset-1' })).temporaryPassword).not.toBe(first.temporaryPassword);
  });
});

describe('temporary password', () => {
  it('has 10 letters and digits, none that look alike, and differs each time', () => {
    const passwords = Array.from({ length: 200 }, () => generateTemporaryPassword());
    for (const password of passwords) {
      expect(password).toHaveLength(10);
      expect(password).toMatch(/\d/);
      expect(password).toMatch(/[A-Za-z]/);
      expect(password).not.toMatch(/[0O1lIio]/);
      for (const char of password) expect(TEMPORARY_PASSWORD_ALPHABET).toContain(char);
    }
    expect(new Set(passwords).size).toBe(passwords.length);
  });
});

describe('decideLookup (the rules shared with the HTTP registry)', () => {
  it('answers notRegistered for an absent person whatever the dates', () => {
    expect(decideLookup(undefined, C)).toEqual({ kind: 'notRegistered' });
  });
});
