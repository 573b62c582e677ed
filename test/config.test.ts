import { ConfigError, DEFAULT_PEOPLE_FILE, loadConfig } from '../src/config';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('needs nothing set in development: embedded defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3978,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      DEFAULT_LOCALE: 'ar',
      CONVERSATION_TTL_SECONDS: 1800,
      REGISTRY_TIMEOUT_MS: 4000,
      REGISTRY_PORT: 3980,
      peopleFile: DEFAULT_PEOPLE_FILE,
      isDevelopment: true,
    });
  });

  it('treats empty values as unset, as .env.example leaves them', () => {
    expect(loadConfig({ PORT: '', MicrosoftAppId: '', REDIS_URL: '' }).PORT).toBe(3978);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DEFAULT_LOCALE: 'en' }, 'DEFAULT_LOCALE'],
    [{ CONVERSATION_TTL_SECONDS: '5' }, 'CONVERSATION_TTL_SECONDS'],
    [{ TWILIO_ACCOUNT_SID: 'not-a-sid' }, 'TWILIO_ACCOUNT_SID'],
    [{ TWILIO_WEBHOOK_URL: 'not a url' }, 'TWILIO_WEBHOOK_URL'],
    [{ REDIS_URL: 'http://localhost' }, 'REDIS_URL'],
    [{ REGISTRY_TIMEOUT_MS: 'soon' }, 'REGISTRY_TIMEOUT_MS'],
    [{ MicrosoftAppId: 'app-id' }, 'MicrosoftAppPassword'],
    [{ MicrosoftAppType: 'Anything' }, 'MicrosoftAppType'],
    [{ METRICS_TOKEN: 'too-short' }, 'METRICS_TOKEN'],
    [{ METRICS_TOKEN: 'long enough but with spaces' }, 'METRICS_TOKEN'],
  ])('a wrong value stops the start, naming the variable: %o', (env, variable) => {
    const problems = problemsOf(env);
    expect(problems.some((p) => p.startsWith(`${variable}:`))).toBe(true);
  });

  it('takes the registry base URL, never with credentials, a query or another scheme', () => {
    expect(loadConfig({ REGISTRY_URL: 'http://127.0.0.1:3980' }).REGISTRY_URL).toBe('http://127.0.0.1:3980');
    expect(loadConfig({ REGISTRY_URL: 'https://gw.example/cnss/' }).REGISTRY_URL).toBe('https://gw.example/cnss/');
    for (const url of ['http://user:secret@127.0.0.1:3980', 'http://127.0.0.1:3980/?key=secret', 'ftp://127.0.0.1', 'localhost:3980', 'notaurl']) {
      expect(problemsOf({ REGISTRY_URL: url })).toEqual([expect.stringMatching(/^REGISTRY_URL:/)]);
    }
  });

  it('needs the registry API key in production when the registry is over HTTP', () => {
    expect(problemsOf({ NODE_ENV: 'production', REGISTRY_URL: 'https://gw.example' })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^REGISTRY_API_KEY: required in production/)]),
    );
    expect(problemsOf({ NODE_ENV: 'production', REGISTRY_URL: 'https://gw.example', REGISTRY_API_KEY: 'k' })).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^REGISTRY_API_KEY:/)]),
    );
  });

  it('refuses to fall back to development defaults in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toEqual(
      expect.arrayContaining(['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_WEBHOOK_URL', 'TWILIO_SMS_FROM'].map((v) => expect.stringMatching(new RegExp(`^${v}:`)))),
    );
  });

  it('needs the exact webhook URL when webhooks are signed', () => {
    expect(problemsOf({ TWILIO_AUTH_TOKEN: 'secret' })).toEqual([expect.stringMatching(/^TWILIO_WEBHOOK_URL:/)]);
  });

  it('derives the status callback URL from the messages URL', () => {
    const config = loadConfig({ TWILIO_AUTH_TOKEN: 'secret', TWILIO_WEBHOOK_URL: 'https://tasjil.example.ma/api/twilio/messages' });
    expect(config.twilioStatusUrl).toBe('https://tasjil.example.ma/api/twilio/status');
    const withQuery = loadConfig({ TWILIO_AUTH_TOKEN: 'secret', TWILIO_WEBHOOK_URL: 'https://Tasjil.example.ma:443/hooks/messages/?tenant=cnss' });
    expect(withQuery.twilioStatusUrl).toBe('https://Tasjil.example.ma:443/hooks/status/?tenant=cnss');
  });

  it('asks for the status URL when it cannot be derived, instead of sending delivery reports to the messages URL', () => {
    expect(problemsOf({ TWILIO_AUTH_TOKEN: 'secret', TWILIO_WEBHOOK_URL: 'https://tasjil.example.ma/twilio/inbound' })).toEqual([
      expect.stringMatching(/^TWILIO_STATUS_CALLBACK_URL: required when TWILIO_WEBHOOK_URL does not end in \/messages/),
    ]);
    const given = loadConfig({ TWILIO_AUTH_TOKEN: 'secret', TWILIO_WEBHOOK_URL: 'https://tasjil.example.ma/twilio/inbound', TWILIO_STATUS_CALLBACK_URL: 'https://tasjil.example.ma/twilio/reports' });
    expect(given.twilioStatusUrl).toBe('https://tasjil.example.ma/twilio/reports');
  });

  it('gives a stopping instance 20 s for its work in flight, or SHUTDOWN_GRACE_MS between 1 s and 10 min', () => {
    expect(loadConfig({}).SHUTDOWN_GRACE_MS).toBe(20_000);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '' }).SHUTDOWN_GRACE_MS).toBe(20_000);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '45000' }).SHUTDOWN_GRACE_MS).toBe(45_000);
    for (const wrong of ['500', '20s', '-1', '600001', '1.5']) {
      expect(problemsOf({ SHUTDOWN_GRACE_MS: wrong })).toEqual([expect.stringMatching(/^SHUTDOWN_GRACE_MS: /)]);
    }
  });

  it('refuses a registry port that fetch will never call, instead of a registry that looks down forever', () => {
    expect(problemsOf({ REGISTRY_URL: 'http://127.0.0.1:4190' })).toEqual([expect.stringMatching(/^REGISTRY_URL: this port is one that fetch refuses/)]);
    expect(problemsOf({ REGISTRY_URL: 'http://127.0.0.1:4191' })).toEqual([]);
  });

  it('resolves a relative people file against the working directory, and names a file that is not there', () => {
    expect(loadConfig({ REGISTRY_PEOPLE_FILE: 'data/sample-people.csv' }).peopleFile).toBe(`${process.cwd()}/data/sample-people.csv`);
    expect(problemsOf({ REGISTRY_PEOPLE_FILE: 'data/no-such-people.csv' })).toEqual([
      `REGISTRY_PEOPLE_FILE: no such file: ${process.cwd()}/data/no-such-people.csv`,
    ]);
  });

  it('listens on loopback only outside production (the dev outbox shows OTPs), everywhere in production, or on HOST', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(problemsOf({ HOST: 'not a host' })).toEqual([expect.stringMatching(/^HOST:/)]);
  });

  it('reads the state encryption keys, newest first, and names what is wrong with them', () => {
    const k1 = Buffer.alloc(32, 1).toString('base64');
    const k2 = Buffer.alloc(32, 2).toString('base64');
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', STATE_ENCRYPTION_KEY: `k2:${k2},k1:${k1}` });
    expect(config.stateKeys?.current.id).toBe('k2');
    expect([...config.stateKeys!.byId.keys()]).toEqual(['k2', 'k1']);
    // After a rotation the old key's hash secret is still known: opt-outs hashed with it are found.
    const before = loadConfig({ STATE_ENCRYPTION_KEY: `k1:${k1}` }).stateKeys!;
    expect(config.stateKeys!.previousHashSecrets).toEqual([before.hashSecret]);
    expect(config.stateKeys!.hashSecret.equals(before.hashSecret)).toBe(false);
    expect(problemsOf({ STATE_ENCRYPTION_KEY: 'k1:c2hvcnQ=' })).toEqual([expect.stringMatching(/^STATE_ENCRYPTION_KEY: key k1 must be 32 bytes/)]);
    expect(problemsOf({ STATE_ENCRYPTION_KEY: k1 })).toEqual([expect.stringMatching(/^STATE_ENCRYPTION_KEY:/)]);
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(expect.arrayContaining([expect.stringMatching(/^STATE_ENCRYPTION_KEY: required in production/)]));
  });
});

describe('the Redis topology', () => {
  it('none: state in memory', () => {
    expect(loadConfig({}).redisTopology).toBeUndefined();
  });

  it('REDIS_URL: one server, credentials and TLS in the URL', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://tasjil:secret@redis.internal:6380' }).redisTopology).toEqual({ kind: 'single', url: 'rediss://tasjil:secret@redis.internal:6380' });
  });

  it('REDIS_SENTINELS and REDIS_SENTINEL_MASTER: the sentinels, the master name, the passwords of the data nodes and of the sentinels', () => {
    const config = loadConfig({
      REDIS_SENTINELS: '10.0.0.1:26379, sentinel-2.internal:26379,[fd00::3]:26380',
      REDIS_SENTINEL_MASTER: 'tasjil',
      REDIS_USERNAME: 'tasjil',
      REDIS_PASSWORD: 'data-secret',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      REDIS_TLS: 'true',
    });
    expect(config.redisTopology).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-2.internal', port: 26379 },
        { host: 'fd00::3', port: 26380 },
      ],
      masterName: 'tasjil',
      username: 'tasjil',
      password: 'data-secret',
      sentinelPassword: 'sentinel-secret',
      tls: true,
    });
  });

  it('REDIS_TLS_CA_FILE: a private CA read once at start, for every TLS topology', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tasjil-ca-'));
    const caFile = join(dir, 'ca.pem');
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    writeFileSync(caFile, pem);
    try {
      expect(loadConfig({ REDIS_URL: 'rediss://redis.internal:6380', REDIS_TLS_CA_FILE: caFile }).redisTopology).toEqual({ kind: 'single', url: 'rediss://redis.internal:6380', tlsCa: pem });
      expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:6379', REDIS_TLS: 'true', REDIS_TLS_CA_FILE: caFile }).redisTopology).toMatchObject({ kind: 'cluster', tls: true, tlsCa: pem });
      expect(loadConfig({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_TLS: 'true', REDIS_TLS_CA_FILE: caFile }).redisTopology).toMatchObject({ kind: 'sentinel', tls: true, tlsCa: pem });
      // Without TLS there is nothing to check a certificate with: a mistake, said at start.
      expect(problemsOf({ REDIS_URL: 'redis://a:6379', REDIS_TLS_CA_FILE: caFile })).toContainEqual(expect.stringMatching(/^REDIS_TLS_CA_FILE: only with TLS/));
      expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:6379', REDIS_TLS_CA_FILE: caFile })).toContainEqual(expect.stringMatching(/^REDIS_TLS_CA_FILE: only with TLS/));
      expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:6379', REDIS_TLS: 'true', REDIS_TLS_CA_FILE: join(dir, 'missing.pem') })).toContainEqual(expect.stringMatching(/^REDIS_TLS_CA_FILE: cannot read/));
      writeFileSync(caFile, 'not a certificate');
      expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:6379', REDIS_TLS: 'true', REDIS_TLS_CA_FILE: caFile })).toContainEqual(expect.stringMatching(/^REDIS_TLS_CA_FILE: .* holds no PEM certificate/));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('REDIS_WAIT_REPLICAS: a turn waits for one replica on Sentinel (docs/redis.md sets one up), for none elsewhere, unless told', () => {
    const sentinel = { REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'tasjil' };
    expect(loadConfig(sentinel).redisWaitReplicas).toBe(1);
    expect(loadConfig({ ...sentinel, REDIS_WAIT_REPLICAS: '0' }).redisWaitReplicas).toBe(0);
    expect(loadConfig({ ...sentinel, REDIS_WAIT_REPLICAS: '2' }).redisWaitReplicas).toBe(2);
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:6379' }).redisWaitReplicas).toBe(0);
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:6379', REDIS_WAIT_REPLICAS: '1' }).redisWaitReplicas).toBe(1);
    expect(loadConfig({ REDIS_URL: 'redis://a:6379' }).redisWaitReplicas).toBe(0);
    expect(loadConfig({}).redisWaitReplicas).toBe(0);
  });

  it('REDIS_CLUSTER_NODES: some nodes of the cluster (the client learns the rest), without TLS by default', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.1.1:6379,10.0.1.2:6379', REDIS_PASSWORD: 'p' }).redisTopology).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.1.1', port: 6379 },
        { host: '10.0.1.2', port: 6379 },
      ],
      username: undefined,
      password: 'p',
      tls: false,
    });
  });

  it.each([
    [{ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:6379' }, 'REDIS_URL, REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_CLUSTER_NODES: 'b:6379', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS, REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINEL_MASTER'],
    [{ REDIS_SENTINEL_MASTER: 'tasjil' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 'a', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 'a:70000', REDIS_SENTINEL_MASTER: 'm' }, 'REDIS_SENTINELS'],
    [{ REDIS_CLUSTER_NODES: 'a:6379,redis://b:6379' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: ' , ' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'no spaces please' }, 'REDIS_SENTINEL_MASTER'],
    [{ REDIS_URL: 'redis://a:6379', REDIS_PASSWORD: 'p' }, 'REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS'],
    [{ REDIS_CLUSTER_NODES: 'a:6379', REDIS_TLS: 'yes' }, 'REDIS_TLS'],
    [{ REDIS_WAIT_REPLICAS: '1' }, 'REDIS_WAIT_REPLICAS'],
    [{ REDIS_URL: 'redis://a:6379', REDIS_WAIT_REPLICAS: 'one' }, 'REDIS_WAIT_REPLICAS'],
    [{ REDIS_URL: 'redis://a:6379', REDIS_WAIT_REPLICAS: '-1' }, 'REDIS_WAIT_REPLICAS'],
  ])('a wrong combination stops the start, naming the variables: %o', (env, variables) => {
    expect(problemsOf(env).some((problem) => problem.startsWith(`${variables}:`))).toBe(true);
  });
});
