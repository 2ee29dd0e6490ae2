/**
 * The agent's own HTTP API, for the master (which proxies task output to clients) and for operators:
 * `GET /api/v1/tasks/{id}/output`, `GET /api/v1/health`.
 */
import type { FastifyInstance } from 'fastify';
import { serveRecords } from '../api/http-server.js';
import { UnavailableError } from '../core/errors.js';
import type { Agent } from './agent.js';

/** `agentOf` gives the agent once it exists: the listener starts first, so the agent knows its address. */
export function registerAgentRoutes(app: FastifyInstance, agentOf: () => Agent | undefined): void {
  const need = (): Agent => {
    const agent = agentOf();
    if (!agent) throw new UnavailableError('the agent is starting');
    return agent;
  };
  app.get('/api/v1/health', async () => ({ ok: true, agent_id: agentOf()?.id ?? null }));

  app.get<{ Params: { id: string }; Querystring: { follow?: string } }>(
    '/api/v1/tasks/:id/output',
    async (req, reply) => {
      const follow = req.query.follow === 'true' || req.query.follow === '1';
      await serveRecords(reply, (signal) => need().output(req.params.id, { follow, signal }));
    },
  );
}
