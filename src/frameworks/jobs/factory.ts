/** The jobs framework as a built-in framework of `berth up` / `berth master` (see `src/server/frameworks.ts`). */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { SchedulerTransport } from '../../sdk/index.js';
import type { StateStore } from '../../store/index.js';
import { registerJobsRoutes } from './http.js';
import { JobsFramework } from './jobs-framework.js';

/** What the factory needs of the server's FrameworkContext. */
export interface JobsFrameworkContext {
  store: StateStore;
  app: FastifyInstance;
  logger: Logger;
  clock?: Clock;
  transport(): SchedulerTransport;
}

export function jobsFrameworkFactory(ctx: JobsFrameworkContext): {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  jobs: JobsFramework;
} {
  const jobs = new JobsFramework({
    store: ctx.store,
    transport: () => ctx.transport(),
    logger: ctx.logger.child({ c: 'jobs' }),
    ...(ctx.clock ? { clock: ctx.clock } : {}),
  });
  registerJobsRoutes(ctx.app, jobs);
  return {
    name: 'jobs',
    jobs,
    start: () => jobs.start(),
    async stop() {
      jobs.stop();
      await jobs.flush();
    },
  };
}
