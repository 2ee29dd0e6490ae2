/**
 * The agent's own HTTP API, for the master (which proxies task output to clients) and for operators:
 * `GET /api/v1/tasks/{id}/output`, `GET /api/v1/health`.
 */
import type { FastifyInstance } from 'fastify';
import type { OutputRecord } from '../api/agent.js';
import { openRecordStream } from '../api/http-server.js';
import { describeError, UnavailableError } from '../core/errors.js';
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
      const abort = new AbortController();
      const records = need().output(req.params.id, { follow, signal: abort.signal });
      const first = await records.next(); // errors (unknown task, removed sandbox) become a proper HTTP error
      const stream = openRecordStream<OutputRecord | { type: 'ERROR'; error: { message: string } }>(reply);
      stream.signal.addEventListener('abort', () => abort.abort());
      try {
        if (!first.done) stream.send(first.value);
        for (let r = await records.next(); !r.done && !stream.closed; r = await records.next())
          stream.send(r.value);
      } catch (err) {
        stream.send({ type: 'ERROR', error: { message: describeError(err) } });
      } finally {
        await records.return(undefined);
        stream.close();
      }
    },
  );
}
