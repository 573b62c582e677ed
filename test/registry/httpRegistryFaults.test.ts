import { Writable } from 'node:stream';
import { createLogger } from '../../src/log';
import { HttpRegistry, type HttpRegistryOptions } from '../../src/services/registry/httpRegistry';
import { RegistryUnavailableError } from '../../src/services/types';
import { answerAfter, json, refusedUrl, startMisbehavingServer, type MisbehavingServer } from '../support/registryServers';

/**
 * The client against a registry that misbehaves on purpose: every failure becomes a
 * RegistryUnavailableError within the budget, safe calls are retried and activations never are,
 * and the breaker opens and closes again. Small timeouts keep the suite fast.
 */

const QUERY = { idType: 'CNIE' as const, idNumber: 'AB123456', birthDate: '1985-03-14', idExpiryDate: '2031-06-30' };
const ACTIVATION = { idType: 'CNIE' as const, idNumber: 'BE654321', birthDate: '1990-07-02', idExpiryDate: '2030-11-15', phone: '+212612345678' };
const FOUND = { kind: 'registered', hasAccount: true, registrationNumber: '111222333' };
const BUDGET_MS = 400;
/** Scheduling slack on a loaded CI machine. */
const SLACK_MS = 250;

function client(url: string, options: Partial<HttpRegistryOptions> = {}): { registry: HttpRegistry; logs: string[] } {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const registry = new HttpRegistry({
    url,
    timeoutMs: BUDGET_MS,
    log: createLogger('trace', sink),
    retry: { initialDelayMs: 10, maxDelayMs: 40 },
    breaker: { consecutiveFailures: 100, halfOpenAfterMs: 100 },
    ...options,
  });
  return { registry, logs };
}

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await promise;
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected the call to fail');
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HttpRegistry when the registry misbehaves', () => {
  let server: MisbehavingServer;
  beforeEach(async () => {
    server = await startMisbehavingServer((_req, res) => json(res, 200, FOUND));
  });
  afterEach(() => server.stop());

  const lookups = () => server.received.filter((r) => r.path === '/v1/people/lookup').length;
  const activations = () => server.received.filter((r) => r.path === '/v1/accounts').length;

  it('answers normally when it behaves', async () => {
    expect(await client(server.url).registry.lookUp(QUERY)).toEqual(FOUND);
  });

  it('slow beyond the timeout: unavailable (timeout) within the budget, not retried', async () => {
    server.handler = answerAfter(5_000, 200, FOUND);
    const { error, ms } = await failure(client(server.url).registry.lookUp(QUERY));
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error).toMatchObject({ kind: 'timeout' });
    // Given up at the budget, not earlier. Node starts a timer from the event loop's cached clock,
    // which lags the wall clock by however long the current tick has run (32 ms was seen on a busy
    // CI machine): a quarter of the budget of tolerance still catches a shorter timeout.
    expect(ms).toBeGreaterThanOrEqual(BUDGET_MS * 0.75);
    expect(ms).toBeLessThan(BUDGET_MS + SLACK_MS);
    expect(lookups()).toBe(1);
  });

  it('500s: the look-up is retried with backoff, then unavailable (server-error) within the budget', async () => {
    server.handler = (_req, res) => json(res, 500, { type: 'x', title: 'boom', status: 500, code: 'internal-error' }, 'application/problem+json');
    const { registry, logs } = client(server.url);
    const { error, ms } = await failure(registry.lookUp(QUERY));
    expect(error).toMatchObject({ name: 'RegistryCallError', kind: 'server-error', status: 500 });
    expect(ms).toBeLessThan(BUDGET_MS + SLACK_MS);
    expect(lookups()).toBe(3);
    // One call, one request id, on every attempt.
    expect(new Set(server.received.map((r) => r.headers['x-request-id'])).size).toBe(1);
    expect(logs.filter((l) => l.includes('"event":"registry.retry"'))).toHaveLength(2);
  });

  it('a 500 then an answer: the retry gets it', async () => {
    let calls = 0;
    server.handler = (_req, res) => (++calls === 1 ? json(res, 503, 'Service Unavailable', 'text/html') : json(res, 200, FOUND));
    expect(await client(server.url).registry.lookUp(QUERY)).toEqual(FOUND);
    expect(lookups()).toBe(2);
  });

  it('retries only while a retry still fits in the budget', async () => {
    server.handler = (_req, res) => json(res, 502, '<html>Bad gateway</html>', 'text/html');
    const { registry } = client(server.url, { retry: { maxRetries: 50, initialDelayMs: 60, maxDelayMs: 120 } });
    const { error, ms } = await failure(registry.lookUp(QUERY));
    expect(error).toMatchObject({ kind: 'server-error', status: 502 });
    expect(ms).toBeLessThan(BUDGET_MS + SLACK_MS);
    expect(lookups()).toBeGreaterThan(1);
    expect(lookups()).toBeLessThan(10);
  });

  it('malformed JSON: unavailable (malformed-response), not retried, the body never logged', async () => {
    server.handler = (_req, res) => json(res, 200, '{"kind": "registered", "SECRET-BODY', 'application/json');
    const { registry, logs } = client(server.url);
    await expect(registry.lookUp(QUERY)).rejects.toMatchObject({ kind: 'malformed-response' });
    expect(lookups()).toBe(1);
    expect(logs.join('\n')).not.toContain('SECRET-BODY');
    expect(logs.join('\n')).toContain('"kind":"malformed-response"');
  });

  it.each([
    ['a field missing', { kind: 'registered', hasAccount: true }],
    ['an unknown outcome', { kind: 'maybe' }],
    ['a registration number of 8 digits', { kind: 'registered', hasAccount: true, registrationNumber: '11122233' }],
    ['an empty mismatch', { kind: 'mismatch', fields: [] }],
  ])('JSON that breaks the contract (%s): malformed-response', async (_name, body) => {
    server.handler = (_req, res) => json(res, 200, body);
    await expect(client(server.url).registry.lookUp(QUERY)).rejects.toMatchObject({ kind: 'malformed-response' });
  });

  it('connection refused: unavailable (connection) fast', async () => {
    const { error, ms } = await failure(client(await refusedUrl()).registry.lookUp(QUERY));
    expect(error).toMatchObject({ name: 'RegistryCallError', kind: 'connection' });
    expect(ms).toBeLessThan(BUDGET_MS + SLACK_MS);
  });

  it('a wrong API key (401): unavailable (unauthorized), not retried', async () => {
    server.handler = (req, res) =>
      req.headers['x-api-key'] === 'right'
        ? json(res, 200, FOUND)
        : json(res, 401, { type: 'urn:tasjil:registry:problem:unauthorized', title: 'no', status: 401, code: 'unauthorized' }, 'application/problem+json');
    await expect(client(server.url, { apiKey: 'wrong' }).registry.lookUp(QUERY)).rejects.toMatchObject({ kind: 'unauthorized', status: 401 });
    expect(lookups()).toBe(1);
    expect(await client(server.url, { apiKey: 'right' }).registry.lookUp(QUERY)).toEqual(FOUND);
  });

  it('the API key and request id are sent; no personal data is in the URL', async () => {
    await client(server.url, { apiKey: 'k-123' }).registry.lookUp(QUERY);
    const [request] = server.received;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/people/lookup' });
    expect(request!.headers['x-api-key']).toBe('k-123');
    expect(request!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(request!.body)).toEqual(QUERY);
  });

  it('a shared location is rounded to about a kilometre before it travels', async () => {
    server.handler = (_req, res) => json(res, 200, { offices: [] });
    await client(server.url).registry.findOffices({ lat: 33.573123, lon: -7.589843 });
    expect(server.received[0]!.path).toBe('/v1/offices?lat=33.57&lon=-7.59');
  });

  describe('activation is never retried', () => {
    it.each<[string, MisbehavingServer['handler'], string]>([
      ['a 500', (_req, res) => json(res, 500, 'boom', 'text/plain'), 'server-error'],
      ['a 503', (_req, res) => json(res, 503, { type: 'x', title: 'down', status: 503, code: 'unavailable' }, 'application/problem+json'), 'server-error'],
      ['a timeout', answerAfter(5_000, 201, { registrationNumber: '222333444', temporaryPassword: 'Abc234xyz9' }), 'timeout'],
      ['malformed JSON', (_req, res) => json(res, 201, '{"registrationNumber":', 'application/json'), 'malformed-response'],
      ['a dropped connection', (_req, res) => res.socket?.destroy(), 'connection'],
    ])('%s: one request, then unavailable', async (_name, handler, kind) => {
      server.handler = handler;
      const { registry, logs } = client(server.url, { retry: { maxRetries: 5, initialDelayMs: 1, maxDelayMs: 2 } });
      await expect(registry.activateAccount(ACTIVATION)).rejects.toMatchObject({ kind });
      await wait(50); // a retry would have been sent by now
      expect(activations()).toBe(1);
      expect(logs.join('\n')).not.toContain('registry.retry');
    });

    it('the user retrying is a new call: one more request, with a new request id', async () => {
      server.handler = (_req, res) => json(res, 503, 'down', 'text/plain');
      const { registry } = client(server.url);
      await expect(registry.activateAccount(ACTIVATION)).rejects.toBeInstanceOf(RegistryUnavailableError);
      server.handler = (_req, res) => json(res, 201, { registrationNumber: '222333444', temporaryPassword: 'Abc234xyz9' });
      await expect(registry.activateAccount(ACTIVATION)).resolves.toEqual({ registrationNumber: '222333444', temporaryPassword: 'Abc234xyz9' });
      expect(activations()).toBe(2);
      expect(server.received[0]!.headers['x-request-id']).not.toBe(server.received[1]!.headers['x-request-id']);
    });
  });

  describe('a password reset is never retried; the account phone\'s look-up is, like a look-up', () => {
    const RESET = { ...QUERY, phone: '+212612345632' };
    const resets = () => server.received.filter((r) => r.path === '/v1/accounts/password-reset').length;

    it.each<[string, MisbehavingServer['handler'], string]>([
      ['a 503', (_req, res) => json(res, 503, { type: 'x', title: 'down', status: 503, code: 'unavailable' }, 'application/problem+json'), 'server-error'],
      ['a timeout', answerAfter(5_000, 201, { registrationNumber: '111222333', temporaryPassword: 'Abc234xyz9' }), 'timeout'],
      ['a dropped connection', (_req, res) => res.socket?.destroy(), 'connection'],
    ])('%s: one reset request, then unavailable', async (_name, handler, kind) => {
      server.handler = handler;
      const { registry, logs } = client(server.url, { retry: { maxRetries: 5, initialDelayMs: 1, maxDelayMs: 2 } });
      await expect(registry.resetPassword(RESET, { idempotencyKey: 'reset-action-0123456789' })).rejects.toMatchObject({ kind });
      await wait(50); // a retry would have been sent by now
      expect(resets()).toBe(1);
      expect(server.received[0]!.headers['idempotency-key']).toBe('reset-action-0123456789');
      expect(logs.join('\n')).not.toContain('registry.retry');
    });

    it('a 500 then an answer: the account phone\'s look-up is retried and gets it; the phone never travels in a URL', async () => {
      let calls = 0;
      server.handler = (_req, res) => (calls++ === 0 ? json(res, 500, 'boom', 'text/plain') : json(res, 200, { phone: '+212612345632' }));
      const { registry } = client(server.url);
      await expect(registry.lookUpAccountPhone(QUERY)).resolves.toEqual({ phone: '+212612345632' });
      expect(server.received.map((r) => r.path)).toEqual(['/v1/accounts/phone/lookup', '/v1/accounts/phone/lookup']);
      expect(server.received.some((r) => r.path.includes('612345632') || r.path.includes('AB123456'))).toBe(false);
    });

    it('an answer not in the contract (a phone that is not E.164) is malformed, never relayed', async () => {
      server.handler = (_req, res) => json(res, 200, { phone: '0612345632' });
      const { registry } = client(server.url);
      await expect(registry.lookUpAccountPhone(QUERY)).rejects.toMatchObject({ kind: 'malformed-response' });
    });
  });

  describe('the circuit breaker', () => {
    const BREAKER = { consecutiveFailures: 3, halfOpenAfterMs: 150 };

    it('opens after consecutive failures: calls then fail fast without reaching the registry, and /readyz says not ready', async () => {
      server.handler = (_req, res) => json(res, 500, 'boom', 'text/plain');
      const { registry, logs } = client(server.url, { breaker: BREAKER, retry: { maxRetries: 0 } });
      for (let i = 0; i < 3; i++) await expect(registry.lookUp(QUERY)).rejects.toMatchObject({ kind: 'server-error' });
      expect(registry.circuitState).toBe('open');
      expect(logs.join('\n')).toContain('"event":"registry.circuit","state":"open"');
      const seen = server.received.length;

      const { error, ms } = await failure(registry.lookUp(QUERY));
      expect(error).toBeInstanceOf(RegistryUnavailableError);
      expect(error).toMatchObject({ kind: 'circuit-open' });
      expect(ms).toBeLessThan(BUDGET_MS); // at once, not at the timeout (and no request: below)
      await expect(registry.activateAccount(ACTIVATION)).rejects.toMatchObject({ kind: 'circuit-open' });
      expect(await registry.isReady()).toBe(false);
      expect(server.received.length).toBe(seen);
    });

    it('closes again once the registry answers: after the pause one call tests it', async () => {
      server.handler = (_req, res) => json(res, 500, 'boom', 'text/plain');
      const { registry, logs } = client(server.url, { breaker: BREAKER, retry: { maxRetries: 0 } });
      for (let i = 0; i < 3; i++) await expect(registry.lookUp(QUERY)).rejects.toBeInstanceOf(RegistryUnavailableError);
      expect(registry.circuitState).toBe('open');

      server.handler = (req, res) => json(res, 200, req.path === '/v1/health' ? { status: 'ok' } : FOUND);
      await expect(registry.lookUp(QUERY)).rejects.toMatchObject({ kind: 'circuit-open' });
      await wait(BREAKER.halfOpenAfterMs + 20);
      expect(await registry.lookUp(QUERY)).toEqual(FOUND);
      expect(registry.circuitState).toBe('closed');
      expect(logs.join('\n')).toContain('"state":"closed"');
      expect(await registry.isReady()).toBe(true);
    });

    it('opens again at once when the test call fails', async () => {
      server.handler = (_req, res) => json(res, 500, 'boom', 'text/plain');
      const { registry } = client(server.url, { breaker: BREAKER, retry: { maxRetries: 0 } });
      for (let i = 0; i < 3; i++) await expect(registry.lookUp(QUERY)).rejects.toBeInstanceOf(RegistryUnavailableError);
      await wait(BREAKER.halfOpenAfterMs + 20);
      const before = server.received.length;
      await expect(registry.lookUp(QUERY)).rejects.toMatchObject({ kind: 'server-error' });
      expect(server.received.length).toBe(before + 1);
      expect(registry.circuitState).toBe('open');
      await expect(registry.lookUp(QUERY)).rejects.toMatchObject({ kind: 'circuit-open' });
    });

    it('the readiness probe can be the test call that closes it', async () => {
      server.handler = (_req, res) => json(res, 500, 'boom', 'text/plain');
      const { registry } = client(server.url, { breaker: BREAKER, retry: { maxRetries: 0 } });
      for (let i = 0; i < 3; i++) await expect(registry.lookUp(QUERY)).rejects.toBeInstanceOf(RegistryUnavailableError);
      server.handler = (req, res) => json(res, 200, req.path === '/v1/health' ? { status: 'ok' } : FOUND);
      await wait(BREAKER.halfOpenAfterMs + 20);
      expect(await registry.isReady()).toBe(true);
      expect(registry.circuitState).toBe('closed');
    });

    it('refused requests and business answers do not open it', async () => {
      server.handler = (_req, res) =>
        json(res, 409, { type: 'urn:tasjil:registry:problem:already-has-account', title: 'has one', status: 409, code: 'already-has-account' }, 'application/problem+json');
      const { registry } = client(server.url, { breaker: BREAKER });
      for (let i = 0; i < 5; i++) await expect(registry.activateAccount(ACTIVATION)).rejects.toMatchObject({ name: 'ActivationRefusedError' });
      server.handler = (_req, res) => json(res, 400, { type: 'x', title: 'bad', status: 400, code: 'invalid-request' }, 'application/problem+json');
      for (let i = 0; i < 5; i++) await expect(registry.lookUp(QUERY)).rejects.toMatchObject({ kind: 'rejected-request' });
      expect(registry.circuitState).toBe('closed');
    });
  });
});
