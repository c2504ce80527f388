/**
 * The webhook's Fastify app: decode, review, encode, count. Built without listening so tests drive it
 * with inject(); index.ts serves it over HTTPS with a certificate that can change at run time.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Logger } from 'pino';
import { MalformedReviewError, parseAdmissionReview, reviewPodAdmission } from './admission-review.js';
import type { WebhookMetrics } from './metrics.js';
import type { InjectionSettings } from './settings.js';

export const MUTATE_PODS_PATH = '/mutate-pods';
/** The API server caps objects at 3 MiB; a review wraps one (two for updates). */
const BODY_LIMIT = 8 * 1024 * 1024;

export interface WebhookAppDeps {
  logger: Logger;
  metrics: WebhookMetrics;
  settings: InjectionSettings;
  /** True once a serving certificate is loaded. */
  isReady(): boolean;
}

/** `https` given: served over TLS (index.ts); absent: plain, for inject() in tests. */
export function buildWebhookApp(
  deps: WebhookAppDeps,
  transport: { https?: HttpsServerOptions } = {},
): FastifyInstance {
  // Fastify's types tie the instance type to the https option; the routes do not care.
  const app = Fastify({
    ...(transport.https === undefined ? {} : { https: transport.https }),
    loggerInstance: deps.logger,
    // One line per admission, written by the handler; Fastify's per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  app.post(MUTATE_PODS_PATH, async (request, reply) => {
    const stopTimer = deps.metrics.duration.startTimer();
    try {
      const admission = parseAdmissionReview(request.body);
      const result = reviewPodAdmission(admission, deps.settings);
      deps.metrics.requests.inc({ result: result.outcome });
      const pod = `${admission.namespace ?? ''}/${admission.name ?? (admission.object as { metadata?: { generateName?: string } } | undefined)?.metadata?.generateName ?? ''}`;
      const line = {
        uid: admission.uid,
        pod,
        operation: admission.operation,
        outcome: result.outcome,
        detail: result.detail,
      };
      if (result.outcome === 'rejected') request.log.info(line, 'pod rejected');
      else request.log.debug(line, 'pod admitted');
      return reply.send(result.review);
    } catch (error) {
      deps.metrics.requests.inc({ result: 'error' });
      if (error instanceof MalformedReviewError) {
        request.log.warn({ err: error.message }, 'malformed admission review');
        return reply.code(400).send({ code: error.code, message: error.message });
      }
      throw error;
    } finally {
      stopTimer();
    }
  });

  app.get('/healthz', { logLevel: 'fatal' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'fatal' }, async (_request, reply) =>
    deps.isReady()
      ? { status: 'ready' }
      : reply
          .code(503)
          .send({ code: 'ERR_WEBHOOK_NO_CERTIFICATE', message: 'no serving certificate loaded yet' }),
  );
  return app;
}
