/** The run framework's HTTP API: `POST /v1/run` submits a task; `GET /v1/run[/:id]` shows them. */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { RunFramework } from './run-framework.js';

const RunRequestBody = Type.Object(
  {
    image: Type.Optional(Type.String({ minLength: 1 })),
    command: Type.Optional(Type.Array(Type.String())),
    env: Type.Optional(Type.Record(Type.String({ pattern: '^[^=]+$' }), Type.String())),
    workdir: Type.Optional(Type.String({ pattern: '^/' })),
    name: Type.Optional(Type.String()),
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    mem: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    rm: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export function registerRunRoutes(app: FastifyInstance, run: RunFramework): void {
  app.post<{ Body: Static<typeof RunRequestBody> }>(
    '/v1/run',
    { schema: { body: RunRequestBody } },
    async (req, reply) => {
      const task = run.submit(req.body);
      return reply.status(201).send({ id: task.id, name: task.name });
    },
  );
  app.get('/v1/run', async () => ({ tasks: run.list() }));
  app.get<{ Params: { id: string } }>('/v1/run/:id', async (req) => run.get(req.params.id));
}
