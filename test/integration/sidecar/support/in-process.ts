/**
 * The real sidecar started in the test process (startSidecar, listening on 127.0.0.1 port 0), for
 * the tests that need to tune timings or inspect metrics quickly. Logs are kept in memory.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { SidecarOptions } from '../../../../sidecar/src/cli/sidecar-options.js';
import { startSidecar, type RunningSidecar, type SidecarTuning } from '../../../../sidecar/src/main.js';
import { CLOUD, ORG } from './tokens.js';

export interface InProcessSidecar extends RunningSidecar {
  logs: Record<string, unknown>[];
}

export async function startInProcess(
  options: Partial<SidecarOptions> & Pick<SidecarOptions, 'upstream'> & Record<string, unknown>,
  tuning: Partial<SidecarTuning> = {},
): Promise<InProcessSidecar> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const full = {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    auditLog: '/dev/null',
    upstreamTimeoutMs: 5000,
    shutdownTimeoutMs: 5000,
    logLevel: 'info',
    ...(options.mode === 'in-cluster'
      ? {}
      : {
          mode: 'standalone',
          tenant: { cloudName: CLOUD, orgId: ORG, cloudDomain: 'zscaler.net' },
          forwardAuthorization: false,
        }),
    ...options,
  } as SidecarOptions;
  const running = await startSidecar(full, { logger, tuning, processMetrics: false });
  return Object.assign(running, { logs });
}

export async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
