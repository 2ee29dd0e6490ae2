/**
 * The jobs framework's HTTP API, in Metronome's shape:
 * - `/v1/jobs` GET (list), POST (create); `/v1/jobs/{id}` GET, PUT (create or replace; `?dryRun=true`
 *   only checks), DELETE (`?stopCurrentJobRuns=true` to stop active runs first);
 * - `/v1/jobs/{id}/runs` POST (start now), GET (list); `/v1/jobs/{id}/runs/{runId}` GET (with its tasks,
 *   exit codes and log links); `POST /v1/jobs/{id}/runs/{runId}/actions/stop`;
 * - `/v1/jobs/{id}/schedules` GET, PUT (set the CronJob schedule);
 * - berth's own: `GET /v1/runs/{runId}` and `POST /v1/runs/{runId}/actions/stop` (a run by its id alone).
 */
import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '../../core/errors.js';
import type { JobsFramework } from './jobs-framework.js';
import { parseJobSpec } from './spec.js';
import type { JobSpec } from './types.js';

type IdParams = { Params: { id: string } };
type RunParams = { Params: { id: string; runId: string } };

const flag = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === '';

/** A schedule body (`PUT /v1/jobs/{id}/schedules`): berth's field names, or Metronome's (`cron`, `timezone`, `enabled`). */
function scheduleFields(body: unknown): Record<string, unknown> {
  const item: unknown = Array.isArray(body) ? body[0] : body;
  if (typeof item !== 'object' || item === null)
    throw new InvalidArgumentError('the body must be a schedule, e.g. {"schedule": "0 2 * * *"}');
  const b = item as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const known = [
    'id',
    'schedule',
    'cron',
    'timeZone',
    'timezone',
    'startingDeadlineSeconds',
    'concurrencyPolicy',
    'suspend',
    'enabled',
    'successfulJobsHistoryLimit',
    'failedJobsHistoryLimit',
  ];
  for (const key of Object.keys(b))
    if (!known.includes(key))
      throw new InvalidArgumentError(`${key}: unknown schedule field (known: ${known.join(', ')})`);
  out.schedule = b.schedule ?? b.cron;
  if (b.timeZone ?? b.timezone) out.timeZone = b.timeZone ?? b.timezone;
  if (b.enabled !== undefined) out.suspend = b.enabled === false;
  if (b.suspend !== undefined) out.suspend = b.suspend;
  for (const k of [
    'startingDeadlineSeconds',
    'concurrencyPolicy',
    'successfulJobsHistoryLimit',
    'failedJobsHistoryLimit',
  ])
    if (b[k] !== undefined) out[k] = b[k];
  if (typeof b.concurrencyPolicy === 'string') out.concurrencyPolicy = metronomePolicy(b.concurrencyPolicy);
  return out;
}

const metronomePolicy = (p: string): string =>
  ({ ALLOW: 'Allow', FORBID: 'Forbid', REPLACE: 'Replace' })[p] ?? p;

/** The job fields of a spec, as a document again (to rebuild a CronJob from a Job and a schedule). */
function jobDocument(spec: JobSpec): Record<string, unknown> {
  const doc: Record<string, unknown> = { ...spec };
  delete doc.kind;
  delete doc.schedule;
  return doc;
}

function scheduleView(jobs: JobsFramework, id: string): unknown[] {
  const view = jobs.view(id);
  const s = view.spec.schedule;
  if (!s) return [];
  return [
    {
      id: 'default',
      cron: s.cron,
      timeZone: s.timeZone,
      ...(s.startingDeadlineSeconds !== undefined
        ? { startingDeadlineSeconds: s.startingDeadlineSeconds }
        : {}),
      concurrencyPolicy: s.concurrencyPolicy,
      suspend: s.suspend,
      enabled: !s.suspend,
      successfulJobsHistoryLimit: s.successfulJobsHistoryLimit,
      failedJobsHistoryLimit: s.failedJobsHistoryLimit,
      ...(view.nextRunAt !== undefined ? { nextRunAt: new Date(view.nextRunAt).toISOString() } : {}),
      ...(view.schedule ? { state: view.schedule } : {}),
    },
  ];
}

export function registerJobsRoutes(app: FastifyInstance, jobs: JobsFramework): void {
  app.get('/v1/jobs', async () => jobs.list());

  app.post('/v1/jobs', async (req, reply) => {
    const spec = parseJobSpec(req.body);
    await jobs.put(spec, { createOnly: true });
    return reply.status(201).send(jobs.view(spec.id));
  });

  app.get<IdParams>('/v1/jobs/:id', async (req) => jobs.view(req.params.id));

  app.put<IdParams & { Querystring: { dryRun?: string } }>('/v1/jobs/:id', async (req, reply) => {
    const spec = parseJobSpec(req.body, req.params.id);
    const dryRun = flag(req.query.dryRun);
    const { created } = await jobs.put(spec, { dryRun });
    if (dryRun) return reply.status(200).send({ dryRun: true, id: spec.id, kind: spec.kind, created });
    return reply.status(created ? 201 : 200).send({ ...jobs.view(spec.id), created });
  });

  app.delete<IdParams & { Querystring: { stopCurrentJobRuns?: string } }>(
    '/v1/jobs/:id',
    async (req, reply) => {
      await jobs.remove(req.params.id, flag(req.query.stopCurrentJobRuns));
      return reply.status(200).send({ id: req.params.id, deleted: true });
    },
  );

  app.post<IdParams>('/v1/jobs/:id/runs', async (req, reply) =>
    reply.status(201).send(jobs.runView(jobs.startRun(req.params.id).id)),
  );
  app.get<IdParams>('/v1/jobs/:id/runs', async (req) => jobs.listRuns(req.params.id));
  app.get<RunParams>('/v1/jobs/:id/runs/:runId', async (req) =>
    jobs.runView(req.params.runId, req.params.id),
  );
  app.post<RunParams>('/v1/jobs/:id/runs/:runId/actions/stop', async (req) => {
    jobs.stopRun(req.params.runId, req.params.id);
    return jobs.runView(req.params.runId);
  });
  app.get<{ Params: { runId: string } }>('/v1/runs/:runId', async (req) => jobs.runView(req.params.runId));
  app.post<{ Params: { runId: string } }>('/v1/runs/:runId/actions/stop', async (req) => {
    jobs.stopRun(req.params.runId);
    return jobs.runView(req.params.runId);
  });

  app.get<IdParams>('/v1/jobs/:id/schedules', async (req) => scheduleView(jobs, req.params.id));
  app.put<IdParams & { Querystring: { dryRun?: string } }>('/v1/jobs/:id/schedules', async (req) => {
    const current = jobs.getJob(req.params.id).spec;
    const doc = { ...jobDocument(current), kind: 'CronJob', ...scheduleFields(req.body) };
    const spec = parseJobSpec(doc, req.params.id);
    await jobs.put(spec, { dryRun: flag(req.query.dryRun) });
    return scheduleView(jobs, req.params.id);
  });
}
