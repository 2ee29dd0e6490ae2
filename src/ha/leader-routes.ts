/** `GET /api/v1/leader`: every master names the leader (itself when it runs alone). */
import type { FastifyInstance } from 'fastify';
import type { LeaderInfo } from './leadership.js';

export interface LeaderView {
  /** The leader as this master knows it; null while an election is under way. */
  leader: LeaderInfo | null;
  self: { id: string; url: string };
  is_leader: boolean;
}

export function registerLeaderRoute(app: FastifyInstance, view: () => LeaderView): void {
  app.get('/api/v1/leader', async () => view());
}
