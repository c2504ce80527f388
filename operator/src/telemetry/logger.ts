/** The operator's pino logger: JSON to stdout, secrets redacted. Created once, in main. */
import { pino, type Logger, type DestinationStream } from 'pino';

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component: 'operator' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          '*.privateKey',
          '*.jws',
          'jws',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
