/**
 * The sidecar's operational log: pino JSON on stderr (stdout carries the audit stream by default),
 * with credentials redacted wherever a header object might end up in a log line.
 */
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'headers["set-cookie"]',
  'authorization',
  'cookie',
  'token',
  'jws',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Defaults to stderr. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: 'scopegate-sidecar',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
