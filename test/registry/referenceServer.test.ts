import { Writable } from 'node:stream';
import { createLogger } from '../../src/log';
import { HttpRegistry, RegistryCallError } from '../../src/services/registry/httpRegistry';
import { TEMPORARY_PASSWORD_ALPHABET } from '../../src/services/registry/embeddedRegistry';
import { ActivationRefusedError, PasswordResetRefusedError } from '../../src/services/registry/rules';
import { RegistryUnavailableError, type IdentityQuery } from '../../src/services/types';
import { OpenApiValidator } from '../support/openapi';
import { referenceData, startReferenceRegistry, type ReferenceRegistry } from '../support/registryServers';

/**
 * Contract tests: the client against the reference registry over real HTTP, every operation and
 * every error; each raw answer is also checked against the OpenAPI document itself.
 */

const API_KEY = 'test-registry-key-0123456789';
const openapi = new OpenApiValidator();

function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger('trace', sink) };
}

const person = (idNumber: string, birthDate: string, idExpiryDate: string, idType: IdentityQuery['idType'] = 'CNIE'): IdentityQuery => ({
  idType,
  idNumber,
  birthDate,
  idExpiryDate,
});

describe('HttpRegistry against the reference registry', () => {
  let registry: ReferenceRegistry;
  let client: HttpRegistry;
  let clientLog: string[];

  beforeEach(async () => {
    registry = await startReferenceRegistry({ apiKey: API_KEY });
    const { lines, log } = capture();
    clientLog = lines;
    client = new HttpRegistry({ url: registry.url, apiKey: API_KEY, timeoutMs: 2000, log });
  });
  afterEach(() => registry.stop());

  describe('look-up: every outcome', () => {
    it.each<[string, IdentityQuery, unknown]>([
      ['A, registered with an account', person('AB123456', '1985-03-14', '2031-06-30'), { kind: 'registered', hasAccount: true, registrationNumber: '111222333' }],
      ['B, registered without an account', person('BE654321', '1990-07-02', '2030-11-15'), { kind: 'registered', hasAccount: false, registrationNumber: '222333444' }],
      ['B, a residence card', person('E1234567', '1982-09-09', '2029-12-31', 'CARTE_SEJOUR'), { kind: 'registered', hasAccount: false, registrationNumber: '444555666' }],
      ['C, not registered', person('ZZ999999', '1980-05-05', '2030-01-01'), { kind: 'notRegistered' }],
      ['C, the same number on another kind of document', person('AB123456', '1985-03-14', '2031-06-30', 'CARTE_SEJOUR'), { kind: 'notRegistered' }],
      ['D, civil servant', person('EF445566', '1965-05-20', '2029-09-01'), { kind: 'notSubject', reasonCode: 'AMO_FONCTIONNAIRE' }],
      ['D, pensioner', person('JK246810', '1955-10-10', '2034-02-28'), { kind: 'notSubject', reasonCode: 'PENSIONNE' }],
      ['mismatch, birth date', person('K45678', '1970-04-02', '2030-04-01'), { kind: 'mismatch', fields: ['birthDate'] }],
      ['mismatch, expiry date', person('K45678', '1970-04-01', '2030-04-02'), { kind: 'mismatch', fields: ['idExpiryDate'] }],
      ['mismatch, both (a not-subject person: the status is not revealed)', person('EF445566', '1965-05-21', '2029-09-02'), { kind: 'mismatch', fields: ['birthDate', 'idExpiryDate'] }],
      ['a number typed with spaces and in lower case', person('ab 123-456', '1985-03-14', '2031-06-30'), { kind: 'registered', hasAccount: true, registrationNumber: '111222333' }],
    ])('%s', async (_name, query, expected) => {
      expect(await client.lookUp(query)).toEqual(expected);
    });
  });

  describe('account activation', () => {
    const request = { ...person('BE654321', '1990-07-02', '2030-11-15'), phone: '+212612345678' };

    it('creates the account: the registration number and a temporary password; the person then has an account', async () => {
      const result = await client.activateAccount(request);
      expect(result.registrationNumber).toBe('222333444');
      expect(result.temporaryPassword).toMatch(new RegExp(`^[${TEMPORARY_PASSWORD_ALPHABET}]{10}$`));
      expect(await client.lookUp(person('BE654321', '1990-07-02', '2030-11-15'))).toMatchObject({ hasAccount: true });
      // The password went through the client and the server: neither logged it, nor the request.
      for (const secret of [result.temporaryPassword, 'BE654321', '+212612345678', '1990-07-02']) {
        expect(clientLog.join('\n')).not.toContain(secret);
        expect(registry.logLines.join('\n')).not.toContain(secret);
      }
    });

    it.each<[string, IdentityQuery, string]>([
      ['a second activation: already has an account', person('AB123456', '1985-03-14', '2031-06-30'), 'alreadyHasAccount'],
      ['a person not in the file', person('ZZ999999', '1980-01-01', '2030-01-01'), 'unknownPerson'],
      ['a person not subject', person('GH778899', '1988-01-31', '2033-04-12'), 'notSubject'],
      ['the card number of someone else, a date wrong', person('BE654321', '1990-07-03', '2030-11-15'), 'identityMismatch'],
    ])('refused, as the embedded registry refuses it: %s', async (_name, who, reason) => {
      const error = await client.activateAccount({ ...who, phone: '+212612345678' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ActivationRefusedError);
      expect(error).toMatchObject({ reason });
      expect(error).not.toBeInstanceOf(RegistryUnavailableError);
    });

    it('activating twice for two user actions: the second is refused, the account exists', async () => {
      await client.activateAccount(request, { idempotencyKey: 'action-one-0123456789' });
      await expect(client.activateAccount(request, { idempotencyKey: 'action-two-0123456789' })).rejects.toMatchObject({
        name: 'ActivationRefusedError',
        reason: 'alreadyHasAccount',
      });
    });

    it('the same user action sent again (its answer was lost) gets the first answer, not a refusal nor a second account', async () => {
      const first = await client.activateAccount(request, { idempotencyKey: 'lost-answer-0123456789' });
      const again = await client.activateAccount(request, { idempotencyKey: 'lost-answer-0123456789' });
      expect(again).toEqual(first);
      expect(registry.logLines.join('\n')).not.toContain('lost-answer-0123456789');
    });

    it('an idempotency key sent again for another person is refused, and reveals nothing of the first answer', async () => {
      const first = await client.activateAccount(request, { idempotencyKey: 'shared-key-0123456789' });
      const other = { ...person('E1234567', '1982-09-09', '2029-12-31', 'CARTE_SEJOUR'), phone: '+212612345678' };
      const error = await client.activateAccount(other, { idempotencyKey: 'shared-key-0123456789' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryCallError);
      expect(error).toMatchObject({ kind: 'rejected-request', status: 422 });
      expect(JSON.stringify(error)).not.toContain(first.temporaryPassword);
    });
  });

  describe('a forgotten password', () => {
    const withAccount = person('AB123456', '1985-03-14', '2031-06-30');
    const ACCOUNT_PHONE = '+212612345632';

    it('gives the phone the account was created with, then a new temporary password for it; neither side logs them', async () => {
      expect(await client.lookUpAccountPhone(withAccount)).toEqual({ phone: ACCOUNT_PHONE });
      const result = await client.resetPassword({ ...withAccount, phone: ACCOUNT_PHONE }, { idempotencyKey: 'reset-one-0123456789' });
      expect(result.registrationNumber).toBe('111222333');
      expect(result.temporaryPassword).toMatch(new RegExp(`^[${TEMPORARY_PASSWORD_ALPHABET}]{10}$`));
      for (const secret of [result.temporaryPassword, 'AB123456', ACCOUNT_PHONE, '612345632', '1985-03-14']) {
        expect(clientLog.join('\n')).not.toContain(secret);
        expect(registry.logLines.join('\n')).not.toContain(secret);
      }
    });

    it.each<[string, IdentityQuery, string]>([
      ['no phone known for the account', person('K45678', '1970-04-01', '2030-04-01'), 'noAccountPhone'],
      ['no account yet', person('BE654321', '1990-07-02', '2030-11-15'), 'noAccount'],
      ['a person not in the file', person('ZZ999999', '1980-05-05', '2030-01-01'), 'unknownPerson'],
      ['a person not subject', person('EF445566', '1965-05-20', '2029-09-01'), 'notSubject'],
      ['the right number with another birth date: the identity is checked as for a look-up', person('AB123456', '1985-03-15', '2031-06-30'), 'identityMismatch'],
    ])('the account phone is refused: %s', async (_name, query, reason) => {
      const error = await client.lookUpAccountPhone(query).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PasswordResetRefusedError);
      expect(error).toMatchObject({ reason });
      expect(error).not.toBeInstanceOf(RegistryUnavailableError);
      // The reset itself checks the same, whatever phone it names.
      await expect(client.resetPassword({ ...query, phone: ACCOUNT_PHONE })).rejects.toMatchObject({ name: 'PasswordResetRefusedError', reason });
    });

    it('a reset for another phone than the account\'s (one typed in a chat) is refused', async () => {
      await expect(client.resetPassword({ ...withAccount, phone: '+212699887766' })).rejects.toMatchObject({ name: 'PasswordResetRefusedError', reason: 'accountPhoneChanged' });
    });

    it('an activation records the phone the account was created with: a forgotten password goes there', async () => {
      const created = person('BE654321', '1990-07-02', '2030-11-15');
      await client.activateAccount({ ...created, phone: '+212612345678' });
      expect(await client.lookUpAccountPhone(created)).toEqual({ phone: '+212612345678' });
    });

    it('the same user action sent again (its answer was lost) gets the same password; a key of another action is refused', async () => {
      const first = await client.resetPassword({ ...withAccount, phone: ACCOUNT_PHONE }, { idempotencyKey: 'reset-lost-0123456789' });
      const again = await client.resetPassword({ ...withAccount, phone: ACCOUNT_PHONE }, { idempotencyKey: 'reset-lost-0123456789' });
      expect(again).toEqual(first);
      const other = await client.resetPassword({ ...withAccount, phone: ACCOUNT_PHONE }, { idempotencyKey: 'reset-other-0123456789' });
      expect(other.temporaryPassword).not.toBe(first.temporaryPassword);
      // A key an activation used is not a reset's: refused, nothing of the first answer revealed.
      await client.activateAccount({ ...person('CD112233', '1978-12-25', '2032-01-10'), phone: '+212612345678' }, { idempotencyKey: 'activation-key-0123456789' });
      const error = await client.resetPassword({ ...withAccount, phone: ACCOUNT_PHONE }, { idempotencyKey: 'activation-key-0123456789' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'RegistryCallError', kind: 'rejected-request', status: 422 });
    });
  });

  describe('reference data', () => {
    it('lists every category of data/ with its documents in Arabic and French', async () => {
      const categories = await client.listCategories();
      const data = referenceData();
      expect(categories.map((c) => c.code)).toEqual(data.categories.map((c) => c.code));
      const taxi = categories.find((c) => c.code === 'TAXI')!;
      const source = data.categories.find((c) => c.code === 'TAXI')!;
      expect(taxi).toEqual({
        code: 'TAXI',
        name: { ar: source.ar, fr: source.fr },
        shortName: { ar: source.shortAr, fr: source.shortFr },
        documents: { ar: source.documents.ar, fr: source.documents.fr },
      });
    });

    it('lists the non-subject reasons: every code a look-up may answer', async () => {
      const reasons = await client.listNonSubjectReasons();
      expect(reasons.map((r) => r.code)).toEqual(referenceData().nonSubjectReasons.map((r) => r.code));
      expect(reasons.find((r) => r.code === 'PENSIONNE')).toMatchObject({ name: { fr: expect.any(String), ar: expect.any(String) }, coveredBy: { fr: expect.any(String), ar: expect.any(String) } });
    });

    it('finds offices in a city by the name people type, its own offices first', async () => {
      const result = await client.findOffices({ city: 'Casa' });
      expect(result?.city?.code).toBe('casablanca');
      expect(result?.offices).toHaveLength(3);
      expect(result?.offices[0]).toMatchObject({ inCity: true, office: { cityCode: 'casablanca' } });
      expect((await client.findOffices({ city: 'الدار البيضاء', limit: 1 }))?.offices).toHaveLength(1);
      expect((await client.findOffices({ city: 'casablanca' }))?.city?.code).toBe('casablanca');
    });

    it('finds offices near a point, nearest first, and never planned ones', async () => {
      const result = await client.findOffices({ lat: 34.0209, lon: -6.8416, limit: 5 });
      expect(result?.city).toBeUndefined();
      const distances = result!.offices.map((o) => o.distanceKm);
      expect(distances).toEqual([...distances].sort((a, b) => a - b));
      const planned = new Set(referenceData().offices.filter((o) => o.status !== 'open').map((o) => o.id));
      expect(result!.offices.some((o) => planned.has(o.office.id))).toBe(false);
    });

    it('answers undefined for a city nobody knows', async () => {
      expect(await client.findOffices({ city: 'Atlantis' })).toBeUndefined();
    });

    it('is ready', async () => {
      expect(await client.isReady()).toBe(true);
    });
  });

  describe('errors', () => {
    it('a wrong API key: RegistryUnavailableError (unauthorized), and not ready', async () => {
      const wrong = new HttpRegistry({ url: registry.url, apiKey: 'not-the-key', timeoutMs: 2000, log: capture().log });
      await expect(wrong.lookUp(person('AB123456', '1985-03-14', '2031-06-30'))).rejects.toMatchObject({ name: 'RegistryCallError', kind: 'unauthorized', status: 401 });
      expect(await wrong.isReady()).toBe(false);
      const none = new HttpRegistry({ url: registry.url, timeoutMs: 2000, log: capture().log });
      await expect(none.listCategories()).rejects.toBeInstanceOf(RegistryUnavailableError);
    });

    it('a wrong REGISTRY_URL path: rejected-request, not retried', async () => {
      const wrong = new HttpRegistry({ url: `${registry.url}/elsewhere`, apiKey: API_KEY, timeoutMs: 2000, log: capture().log });
      await expect(wrong.listCategories()).rejects.toMatchObject({ kind: 'rejected-request', status: 404 });
      expect(registry.requests()).toBe(1);
    });

    it('a request that breaks the contract is a caller bug, refused before it is sent', async () => {
      await expect(client.lookUp(person('AB123456', '14/03/1985', '2031-06-30'))).rejects.toThrow(/does not follow the contract \(birthDate\)/);
      await expect(client.lookUp(person('AB123456', '14/03/1985', '2031-06-30'))).rejects.not.toBeInstanceOf(RegistryCallError);
      expect(registry.requests()).toBe(0);
    });

    it('sends one request id per call, logged on both sides', async () => {
      await client.listCategories();
      const sent = clientLog.map((l) => JSON.parse(l) as { event: string; requestId?: string }).find((e) => e.event === 'registry.call');
      const served = registry.logLines.map((l) => JSON.parse(l) as { event: string; requestId?: string }).find((e) => e.event === 'registry.server.request');
      expect(sent?.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(served?.requestId).toBe(sent?.requestId);
    });
  });
});

describe('the reference registry over raw HTTP, checked against the OpenAPI document', () => {
  let registry: ReferenceRegistry;
  beforeAll(async () => {
    registry = await startReferenceRegistry({ apiKey: API_KEY });
  });
  afterAll(() => registry.stop());

  async function call(
    operationId: string,
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string>; key?: string | null } = {},
  ): Promise<{ status: number; headers: Headers; body: unknown }> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.key !== null) headers['x-api-key'] = init.key ?? API_KEY;
    if (init.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${registry.url}${path}`, { method, headers, body: init.body });
    const text = await res.text();
    const body = text ? JSON.parse(text) : undefined;
    expect({ operationId, errors: openapi.answerErrors(operationId, res.status, res.headers.get('content-type') ?? '', body) }).toEqual({ operationId, errors: [] });
    return { status: res.status, headers: res.headers, body };
  }

  const lookup = JSON.stringify({ idType: 'CNIE', idNumber: 'AB123456', birthDate: '1985-03-14', idExpiryDate: '2031-06-30' });

  it('every operation answers as documented, personal answers never cached', async () => {
    const found = await call('lookUpPerson', 'POST', '/v1/people/lookup', { body: lookup });
    expect(found.status).toBe(200);
    expect(found.headers.get('cache-control')).toBe('no-store');
    const created = await call('activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'CARTE_SEJOUR', idNumber: 'E1234567', birthDate: '1982-09-09', idExpiryDate: '2029-12-31', phone: '+212612345678' }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect((await call('listCategories', 'GET', '/v1/categories')).status).toBe(200);
    expect((await call('listNonSubjectReasons', 'GET', '/v1/non-subject-reasons')).status).toBe(200);
    expect((await call('findOffices', 'GET', '/v1/offices?city=Rabat')).status).toBe(200);
    expect((await call('findOffices', 'GET', '/v1/offices?lat=33.57&lon=-7.59&limit=20')).status).toBe(200);
    expect((await call('getHealth', 'GET', '/v1/health')).body).toEqual({ status: 'ok' });
    const phone = await call('lookUpAccountPhone', 'POST', '/v1/accounts/phone/lookup', { body: lookup });
    expect(phone.status).toBe(200);
    expect(phone.headers.get('cache-control')).toBe('no-store');
    const reset = await call('resetPassword', 'POST', '/v1/accounts/password-reset', {
      body: JSON.stringify({ ...JSON.parse(lookup), phone: (phone.body as { phone: string }).phone }),
      headers: { 'idempotency-key': 'raw-reset-0123456789' },
    });
    expect(reset.status).toBe(201);
    expect(reset.headers.get('cache-control')).toBe('no-store');
  });

  it.each<[string, number, string, string, string, string, { body?: string; headers?: Record<string, string>; key?: string | null }]>([
    ['no API key', 401, 'unauthorized', 'lookUpPerson', 'POST', '/v1/people/lookup', { body: lookup, key: null }],
    ['a wrong API key', 401, 'unauthorized', 'getHealth', 'GET', '/v1/health', { key: 'wrong' }],
    ['a body that is not JSON', 400, 'malformed-json', 'lookUpPerson', 'POST', '/v1/people/lookup', { body: '{"idType": "CNIE",' }],
    ['a body that is not application/json', 415, 'unsupported-media-type', 'lookUpPerson', 'POST', '/v1/people/lookup', { body: lookup, headers: { 'content-type': 'text/plain' } }],
    ['a body over 16 KiB', 413, 'payload-too-large', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ pad: 'x'.repeat(20_000) }) }],
    ['an impossible date', 400, 'invalid-request', 'lookUpPerson', 'POST', '/v1/people/lookup', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'AB123456', birthDate: '1985-02-30', idExpiryDate: '2031-06-30' }) }],
    ['an unknown document type', 400, 'invalid-request', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'PASSEPORT', idNumber: 'AB123456', birthDate: '1985-03-14', idExpiryDate: '2031-06-30', phone: '+212612345678' }) }],
    ['a phone not in E.164', 400, 'invalid-request', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'BE654321', birthDate: '1990-07-02', idExpiryDate: '2030-11-15', phone: '0612345678' }) }],
    ['activation of a person not in the file', 404, 'unknown-person', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'ZZ999999', birthDate: '1980-05-05', idExpiryDate: '2030-01-01', phone: '+212612345678' }) }],
    ['activation of a person who has an account', 409, 'already-has-account', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'AB123456', birthDate: '1985-03-14', idExpiryDate: '2031-06-30', phone: '+212612345678' }) }],
    ['an activation without the dates', 400, 'invalid-request', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'BE654321', phone: '+212612345678' }) }],
    ['an activation with a date wrong', 409, 'identity-mismatch', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'BE654321', birthDate: '1990-07-02', idExpiryDate: '2030-11-16', phone: '+212612345678' }) }],
    ['activation of a person not subject', 409, 'not-subject', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'EF445566', birthDate: '1965-05-20', idExpiryDate: '2029-09-01', phone: '+212612345678' }) }],
    ['offices by city and by point at once', 400, 'invalid-request', 'findOffices', 'GET', '/v1/offices?city=Rabat&lat=34&lon=-6.8', {}],
    ['offices by lat without lon', 400, 'invalid-request', 'findOffices', 'GET', '/v1/offices?lat=34', {}],
    ['offices with no query', 400, 'invalid-request', 'findOffices', 'GET', '/v1/offices', {}],
    ['offices near an empty point (not 0,0)', 400, 'invalid-request', 'findOffices', 'GET', '/v1/offices?lat=&lon=', {}],
    ['activation with an idempotency key too short to be unique', 400, 'invalid-request', 'activateAccount', 'POST', '/v1/accounts', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'K45678', birthDate: '1970-04-01', idExpiryDate: '2030-04-01', phone: '+212612345678' }), headers: { 'idempotency-key': 'abc' } }],
    ['offices with a limit too high', 400, 'invalid-request', 'findOffices', 'GET', '/v1/offices?city=Rabat&limit=500', {}],
    ['offices in a city nobody knows', 404, 'unknown-city', 'findOffices', 'GET', '/v1/offices?city=Atlantis', {}],
    ['the account phone of an account without one', 409, 'no-account-phone', 'lookUpAccountPhone', 'POST', '/v1/accounts/phone/lookup', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'K45678', birthDate: '1970-04-01', idExpiryDate: '2030-04-01' }) }],
    ['the account phone with a wrong date', 409, 'identity-mismatch', 'lookUpAccountPhone', 'POST', '/v1/accounts/phone/lookup', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'AB123456', birthDate: '1985-03-15', idExpiryDate: '2031-06-30' }) }],
    ['the account phone of a person without an account', 409, 'no-account', 'lookUpAccountPhone', 'POST', '/v1/accounts/phone/lookup', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'CD112233', birthDate: '1978-12-25', idExpiryDate: '2032-01-10' }) }],
    ['the account phone of a person not in the file', 404, 'unknown-person', 'lookUpAccountPhone', 'POST', '/v1/accounts/phone/lookup', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'ZZ999999', birthDate: '1980-05-05', idExpiryDate: '2030-01-01' }) }],
    ['a reset naming a phone that is not the account\'s', 409, 'account-phone-changed', 'resetPassword', 'POST', '/v1/accounts/password-reset', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'AB123456', birthDate: '1985-03-14', idExpiryDate: '2031-06-30', phone: '+212699887766' }) }],
    ['a reset without the dates', 400, 'invalid-request', 'resetPassword', 'POST', '/v1/accounts/password-reset', { body: JSON.stringify({ idType: 'CNIE', idNumber: 'AB123456', phone: '+212612345632' }) }],
  ])('%s → %i %s', async (_name, status, code, operationId, method, path, init) => {
    const answer = await call(operationId, method, path, init);
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ status, code, type: `urn:tasjil:registry:problem:${code}`, requestId: answer.headers.get('x-request-id') });
  });

  it('names the fields that are wrong, never their values', async () => {
    const body = JSON.stringify({ idType: 'CNIE', idNumber: 'ab 12', birthDate: '14/03/1985', idExpiryDate: '2031-06-30' });
    const answer = await call('lookUpPerson', 'POST', '/v1/people/lookup', { body });
    expect(answer.body).toMatchObject({ code: 'invalid-request', fields: ['idNumber', 'birthDate'] });
    expect(JSON.stringify(answer.body)).not.toMatch(/ab 12|14\/03\/1985/);
  });

  it('answers an unknown path or method with problem+json too', async () => {
    const notFound = await fetch(`${registry.url}/v2/people/lookup`, { headers: { 'x-api-key': API_KEY } });
    expect([notFound.status, notFound.headers.get('content-type'), ((await notFound.json()) as { code: string }).code]).toEqual([404, 'application/problem+json; charset=utf-8', 'not-found']);
    const wrongMethod = await fetch(`${registry.url}/v1/people/lookup`, { headers: { 'x-api-key': API_KEY } });
    expect([wrongMethod.status, wrongMethod.headers.get('allow'), ((await wrongMethod.json()) as { code: string }).code]).toEqual([405, 'POST', 'method-not-allowed']);
  });

  it('echoes a request id it is given, makes one otherwise', async () => {
    const given = await call('getHealth', 'GET', '/v1/health', { headers: { 'x-request-id': 'bot-42.a_b:c' } });
    expect(given.headers.get('x-request-id')).toBe('bot-42.a_b:c');
    const junk = await call('getHealth', 'GET', '/v1/health', { headers: { 'x-request-id': 'not ok <script>' } });
    expect(junk.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs requests by operation and request id, never a body, an id number or a query', async () => {
    await call('lookUpPerson', 'POST', '/v1/people/lookup', { body: lookup });
    await call('findOffices', 'GET', '/v1/offices?lat=33.5731&lon=-7.5898', {});
    const logs = registry.logLines.join('\n');
    expect(logs).toContain('"operation":"lookUpPerson"');
    for (const secret of ['AB123456', '1985-03-14', '2031-06-30', '33.5731', '-7.5898']) expect(logs).not.toContain(secret);
  });
});
