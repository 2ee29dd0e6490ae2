/**
 * The services framework's HTTP API, in Marathon's shape (JSON):
 *
 * - `GET /v2/apps`, `POST /v2/apps` (create; the body is one spec), `GET|PUT|DELETE /v2/apps/{id}` where the
 *   id is a path (`/v2/apps/shop/web`), `POST /v2/apps/{id}/restart`, `POST /v2/apps/{id}/rollback` (berth's;
 *   to the previous version) and `GET /v2/apps/{id}/tasks` (instances with `host:port` endpoints);
 *   a `PUT` whose body holds only `instances` scales.
 * - `GET /v2/deployments`, `DELETE /v2/deployments/{id}` (rolls back; `?force=true` only stops it).
 * - `GET /v2/queue`: what waits to launch, and why.
 * - `GET /v2/events`: server-sent events (`event: <eventType>`, `data: <json>`); `?event_type=` filters.
 * - `POST /v2/apply?dryRun=&force=` with `{ docs }` and `POST /v2/plan` with `{ doc }`, for `berth apply`
 *   and `berth plan`.
 *
 * `force=true` supersedes a running deployment. Errors go through the app's error handler.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, InvalidArgumentError } from '../../core/errors.js';
import { normalizeServiceId } from './spec.js';
import { openEventStream, type EventStream } from './sse.js';
import type { DeploymentView, InstanceView, ServiceEvent, ServicesApi } from './types.js';

/** A last path segment that names an action on the service rather than a part of its id. */
const ACTIONS = { GET: ['tasks'], POST: ['restart', 'rollback'] } as const;

const EVENT_TYPES = new Set<ServiceEvent['eventType']>([
  'deployment_info',
  'deployment_success',
  'deployment_failed',
  'status_update_event',
  'health_status_changed_event',
]);

type Query = Record<string, string | string[] | undefined>;

/** `?force`, `?force=true|1` → true; absent, `false`, `0` → false; anything else is an error. */
export function booleanParam(query: Query, name: string): boolean {
  const raw = query[name];
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === '' || v === 'true' || v === '1') return true;
  throw new InvalidArgumentError(`${name}: must be true or false, got "${v}"`);
}

/** The endpoints a client connects to: `host:port` for each of the instance's ports. */
export function endpointsOf(instance: InstanceView): string[] {
  return instance.host ? instance.ports.map((p) => `${instance.host}:${p}`) : [];
}

/** Splits `shop/web/restart` into the service id and the action, when the last segment is one. */
function splitAction(rest: string, actions: readonly string[]): { id: string; action?: string } {
  const trimmed = rest.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const last = trimmed.slice(slash + 1);
  if (slash > 0 && actions.includes(last)) return { id: toId(trimmed.slice(0, slash)), action: last };
  return { id: toId(trimmed) };
}

function toId(raw: string): string {
  if (!raw || raw === '/')
    throw new InvalidArgumentError('id: a service id is required, e.g. /v2/apps/shop/web');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new InvalidArgumentError(`id: "${raw}" is not a valid URL path`);
  }
  return normalizeServiceId(decoded, 'id');
}

function requireObject(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new InvalidArgumentError(`${what}: the request body must be a JSON object`);
  return body as Record<string, unknown>;
}

const started = (
  d: DeploymentView,
): { deploymentId: string; version: string; deployment: DeploymentView } => ({
  deploymentId: d.id,
  version: d.toVersion,
  deployment: d,
});

const startedMany = (deployments: DeploymentView[]) => ({
  ...(deployments[0] ? { deploymentId: deployments[0].id, version: deployments[0].toVersion } : {}),
  deployments,
});

/** Registers the `/v2` routes on `app` (before it listens). Event streams end when the app closes. */
export function registerServiceRoutes(app: FastifyInstance, api: ServicesApi): void {
  const streams = new Set<EventStream>();
  app.addHook('preClose', (done) => {
    for (const s of streams) s.close();
    streams.clear();
    done();
  });

  const rest = (req: FastifyRequest): string => (req.params as { '*'?: string })['*'] ?? '';

  app.get('/v2/apps', async () => ({ apps: api.list() }));

  app.post('/v2/apps', async (req, reply) => {
    const body = requireObject(req.body, 'app');
    const id = body.id === undefined ? undefined : normalizeServiceId(body.id, 'app.id');
    if (id !== undefined && api.list().some((s) => s.spec.id === id))
      throw new ConflictError(
        `app.id: service "${id}" already exists: update it with PUT /v2/apps${id} or \`berth apply\``,
      );
    const deployments = await api.apply([body], { force: booleanParam(req.query as Query, 'force') });
    return reply.status(201).send(startedMany(deployments));
  });

  app.get('/v2/apps/*', async (req) => {
    const { id, action } = splitAction(rest(req), ACTIONS.GET);
    const service = api.get(id);
    if (action === 'tasks')
      return {
        tasks: service.instances.map((i) => ({ ...i, appId: i.serviceId, endpoints: endpointsOf(i) })),
      };
    return { app: service };
  });

  app.put('/v2/apps/*', async (req) => {
    const { id } = splitAction(rest(req), []);
    const body = requireObject(req.body, 'app');
    const force = booleanParam(req.query as Query, 'force');
    if (body.id !== undefined && normalizeServiceId(body.id, 'app.id') !== id)
      throw new InvalidArgumentError(`app.id: "${String(body.id)}" does not match the URL's id "${id}"`);
    const keys = Object.keys(body).filter((k) => k !== 'id');
    if (keys.length === 1 && keys[0] === 'instances') {
      const n = body.instances;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
        throw new InvalidArgumentError(
          `app.instances: must be a whole number >= 0, got ${JSON.stringify(n)}`,
        );
      return started(await api.scale(id, n, { force }));
    }
    return startedMany(await api.apply([{ ...body, id }], { force }));
  });

  app.delete('/v2/apps/*', async (req) => {
    const { id } = splitAction(rest(req), []);
    return started(await api.remove(id, { force: booleanParam(req.query as Query, 'force') }));
  });

  app.post('/v2/apps/*', async (req) => {
    const { id, action } = splitAction(rest(req), ACTIONS.POST);
    if (action === 'restart')
      return started(await api.restart(id, { force: booleanParam(req.query as Query, 'force') }));
    if (action === 'rollback') return started(await api.rollback(id));
    throw new InvalidArgumentError(
      `POST /v2/apps/{id} needs an action (/restart or /rollback); create with POST /v2/apps`,
    );
  });

  app.get('/v2/deployments', async () => api.deployments());

  app.delete<{ Params: { id: string } }>('/v2/deployments/:id', async (req, reply) => {
    const d = await api.cancelDeployment(req.params.id, { force: booleanParam(req.query as Query, 'force') });
    return d ? started(d) : reply.status(202).send({});
  });

  app.get('/v2/queue', async () => ({ queue: api.queue() }));

  app.post('/v2/apply', async (req) => {
    const body = requireObject(req.body, 'apply');
    if (!Array.isArray(body.docs))
      throw new InvalidArgumentError('docs: must be a list of service documents');
    const query = req.query as Query;
    const deployments = await api.apply(body.docs, {
      dryRun: booleanParam(query, 'dryRun'),
      force: booleanParam(query, 'force'),
    });
    return { deployments };
  });

  app.post('/v2/plan', async (req) => {
    const body = requireObject(req.body, 'plan');
    if (body.doc === undefined)
      throw new InvalidArgumentError('doc: the service document to plan is required');
    return api.plan(body.doc);
  });

  app.get('/v2/events', (req, reply) => serveEvents(req, reply, api, streams));
}

function eventFilter(query: Query): (e: ServiceEvent) => boolean {
  const raw = query.event_type;
  const wanted = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).flatMap((v) => v.split(','));
  for (const w of wanted)
    if (!EVENT_TYPES.has(w as ServiceEvent['eventType']))
      throw new InvalidArgumentError(
        `event_type: unknown event type "${w}" (one of ${[...EVENT_TYPES].join(', ')})`,
      );
  return wanted.length === 0 ? () => true : (e) => wanted.includes(e.eventType);
}

function serveEvents(
  req: FastifyRequest,
  reply: FastifyReply,
  api: ServicesApi,
  streams: Set<EventStream>,
): void {
  const wanted = eventFilter(req.query as Query);
  const stream = openEventStream(reply);
  streams.add(stream);
  stream.ping(); // the client knows the stream is open, and that no event before this point will come
  const unsubscribe = api.subscribe((e) => {
    if (wanted(e)) stream.send(e.eventType, JSON.stringify(e));
  });
  stream.signal.addEventListener('abort', () => {
    unsubscribe();
    streams.delete(stream);
  });
}
