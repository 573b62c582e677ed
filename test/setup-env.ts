// Tests run with embedded defaults and no log noise unless a test captures logs on purpose.
process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? 'silent';
process.env.NODE_ENV = 'test';
