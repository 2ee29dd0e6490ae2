/**
 * The master's HTTP face: the scheduler API, the agent protocol and the operator API. It only translates
 * between HTTP and the Master's methods.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ResourceSchema } from '../api/mesos.js';
import type { Resource } from '../core/resources.js';
import type { AgentCall, AgentEvent } from '../api/agent.js';
import type { EventSink } from './types.js';
import { openRecordStream, requireHeader, serveRecords, type RecordStream } from '../api/http-server.js';
import { firstSchemaError, schedulerCallValidator, type SchedulerEvent } from '../api/scheduler.js';
import { InvalidArgumentError } from '../core/errors.js';
import { InvalidCallError, TaskNotFoundError } from './errors.js';
import type { Master } from './master.js';
import { toTaskView } from './views.js';
import { parseOperatorCall } from '../api/operator-calls.js';

const STREAM_HEADER = 'Mesos-Stream-Id';

const WeightBody = Type.Object(
  { role: Type.String({ minLength: 1 }), weight: Type.Number({ exclusiveMinimum: 0 }) },
  { additionalProperties: false },
);
const QuotaBody = Type.Object(
  {
    role: Type.String({ minLength: 1 }),
    guarantees: Type.Array(ResourceSchema),
    limits: Type.Array(ResourceSchema),
  },
  { additionalProperties: false },
);
const AGENT_STREAM_HEADER = 'Berth-Agent-Stream-Id';

export function registerMasterRoutes(app: FastifyInstance, master: Master): void {
  app.post('/api/v1/scheduler', async (req, reply) => {
    if (!schedulerCallValidator.Check(req.body))
      throw new InvalidCallError(`bad scheduler call: ${firstSchemaError(schedulerCallValidator, req.body)}`);
    const call = req.body;
    if (call.type !== 'SUBSCRIBE') {
      master.handleSchedulerCall(requireHeader(req, STREAM_HEADER), call);
      return reply.status(202).send();
    }
    const sink = new PendingStream<SchedulerEvent>();
    const { streamId } = master.subscribeFramework(call, sink);
    const stream = sink.attach(openRecordStream<SchedulerEvent>(reply, { [STREAM_HEADER]: streamId }));
    stream.signal.addEventListener('abort', () => master.disconnectFramework(streamId));
  });

  app.post('/api/v1/agent', async (req, reply) => {
    const call = req.body as AgentCall;
    if (!call || typeof call !== 'object' || typeof call.type !== 'string')
      throw new InvalidCallError('bad agent call: a JSON object with "type" is required');
    if (call.type !== 'SUBSCRIBE') {
      master.handleAgentCall(requireHeader(req, AGENT_STREAM_HEADER), call);
      return reply.status(202).send();
    }
    if (!call.subscribe?.agent_info?.hostname)
      throw new InvalidCallError('SUBSCRIBE needs subscribe.agent_info with a hostname');
    const sink = new PendingStream<AgentEvent>();
    const { streamId } = master.subscribeAgent(call, sink);
    const stream = sink.attach(openRecordStream<AgentEvent>(reply, { [AGENT_STREAM_HEADER]: streamId }));
    stream.signal.addEventListener('abort', () => master.disconnectAgent(streamId));
  });

  app.get('/api/v1/health', async () => ({ ok: true }));
  app.get('/api/v1/agents', async () => ({ agents: master.listAgents() }));
  app.get('/api/v1/frameworks', async () => ({ frameworks: master.listFrameworks() }));
  app.get<{ Querystring: { all?: string } }>('/api/v1/tasks', async (req) => ({
    tasks: master.listTasks({ all: req.query.all === 'true' || req.query.all === '1' }),
  }));
  app.get('/api/v1/state', async () => ({
    agents: master.listAgents(),
    frameworks: master.listFrameworks(),
    tasks: master.listTasks({ all: true }),
  }));
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id', async (req) =>
    toTaskView(master.findTask(req.params.id)),
  );

  app.post<{ Params: { id: string }; Querystring: { grace?: string } }>(
    '/api/v1/tasks/:id/kill',
    async (req, reply) => {
      const task = master.findTask(req.params.id);
      const grace = req.query.grace === undefined ? undefined : Number(req.query.grace);
      if (grace !== undefined && !(grace >= 0))
        throw new InvalidArgumentError(`bad grace period "${req.query.grace}": use seconds, e.g. 10`);
      master.killTask(task.id, undefined, grace);
      return reply.status(202).send({ id: task.id });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { follow?: string; wait?: string } }>(
    '/api/v1/tasks/:id/output',
    async (req, reply) => {
      const follow = req.query.follow === 'true' || req.query.follow === '1';
      const waitMs = Math.min(Number(req.query.wait ?? 0) * 1000 || 0, 60_000);
      const task = (await master.waitForTask(req.params.id, waitMs)) ?? master.findTask(req.params.id);
      await serveRecords(
        reply,
        (signal) => master.output(task.id, { follow, signal })[Symbol.asyncIterator](),
        {
          'berth-task-id': task.id,
        },
      );
    },
  );

  // Mesos-shaped operator calls on reservations and volumes (src/api/operator-calls.ts).
  app.post('/api/v1', async (req) => {
    const { agentId, op } = parseOperatorCall(req.body);
    const { id, total } = master.operateOnAgent(agentId, op);
    return { agent_id: { value: id }, total };
  });
  app.get('/api/v1/roles', async () => ({ roles: master.listRoles() }));
  app.get('/api/v1/offers', async () => ({ offers: master.listOffers() }));
  app.post<{ Body: Static<typeof WeightBody> }>(
    '/api/v1/weights',
    { schema: { body: WeightBody } },
    async (req) => {
      master.setWeight(req.body.role, req.body.weight);
      return { role: req.body.role, weight: req.body.weight };
    },
  );
  app.post<{ Body: Static<typeof QuotaBody> }>(
    '/api/v1/quota',
    { schema: { body: QuotaBody } },
    async (req) => {
      master.setQuota(req.body.role, {
        guarantees: req.body.guarantees as Resource[],
        limits: req.body.limits as Resource[],
      });
      return { role: req.body.role };
    },
  );
  app.post<{ Params: { id: string }; Body: { grace_seconds?: number } | undefined }>(
    '/api/v1/agents/:id/drain',
    async (req) => {
      const grace = req.body?.grace_seconds ?? 60;
      if (typeof grace !== 'number' || !(grace >= 0))
        throw new InvalidArgumentError('grace_seconds must be a number of seconds, 0 or more');
      return { id: master.drainAgent(req.params.id, grace) };
    },
  );
  app.post<{ Params: { id: string } }>('/api/v1/agents/:id/reactivate', async (req) => ({
    id: master.reactivateAgent(req.params.id),
  }));

  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id/exists', async (req) => {
    try {
      return { id: master.findTask(req.params.id).id };
    } catch (err) {
      if (err instanceof TaskNotFoundError) return { id: null };
      throw err;
    }
  });
}

/**
 * A sink that holds events until the HTTP stream is open: the stream id in the response headers comes
 * from the subscription, which already sends its first event.
 */
class PendingStream<E> implements EventSink<E> {
  private stream: RecordStream<E> | undefined;
  private readonly held: E[] = [];
  private closed = false;

  send(event: E): void {
    if (this.stream) this.stream.send(event);
    else this.held.push(event);
  }

  close(): void {
    this.closed = true;
    this.stream?.close();
  }

  attach(stream: RecordStream<E>): RecordStream<E> {
    this.stream = stream;
    for (const event of this.held.splice(0)) stream.send(event);
    if (this.closed) stream.close();
    return stream;
  }
}
