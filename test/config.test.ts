import { ConfigError, DEFAULT_PEOPLE_FILE, loadConfig } from '../src/config';

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

  it('refuses settings this version cannot honour instead of ignoring them', () => {
    expect(problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([expect.stringMatching(/^REDIS_URL:/)]);
    expect(problemsOf({ REGISTRY_URL: 'http://127.0.0.1:3980' })).toEqual([expect.stringMatching(/^REGISTRY_URL:/)]);
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
  });

  it('resolves a relative people file against the working directory', () => {
    expect(loadConfig({ REGISTRY_PEOPLE_FILE: 'people.csv' }).peopleFile).toBe(`${process.cwd()}/people.csv`);
  });
});
