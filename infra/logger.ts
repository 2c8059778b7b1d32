// One pino logger; fields that could carry a secret are redacted wherever they appear.
import pino from 'pino';

export const REDACTED_FIELDS = [
  'password',
  'passwordConfirmation',
  'enrollmentPassword',
  'pkcs12Password',
  'privateKey',
  'pkcs12',
  'token',
  'authorization',
];

export type Logger = pino.Logger;

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  const paths = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `req.headers.${f}`]);
  return pino({ level, redact: { paths, censor: '[redacted]' }, base: { service: 'certflow' } }, destination);
}
