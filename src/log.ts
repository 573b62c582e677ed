import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Structured JSON logs. Personal data (ID numbers, dates, phone numbers, OTPs, passwords, message
 * text) is never passed to a logger; the redaction below is a second line of defence for fields
 * that could carry it by mistake.
 */
export const REDACTED_PATHS = [
  'text', '*.text', 'body', '*.body', 'phone', '*.phone', 'to', '*.to', 'from', '*.from',
  'idNumber', '*.idNumber', 'birthDate', '*.birthDate', 'idExpiryDate', '*.idExpiryDate',
  'email', '*.email', 'otp', '*.otp', 'code', '*.code', 'password', '*.password',
  'temporaryPassword', '*.temporaryPassword', 'answers', '*.answers',
  'req.headers.authorization', 'headers.authorization',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tasjil' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
