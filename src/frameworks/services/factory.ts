/** The services framework as a built-in framework of `berth up` / `berth master`. */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { Master } from '../../master/index.js';
import type { SchedulerTransport } from '../../sdk/index.js';
import type { StateStore } from '../../store/index.js';
import { registerServiceRoutes } from './http.js';
import { ServicesFramework } from './services-framework.js';

/** What the factory needs of the server's FrameworkContext. */
export interface ServicesFrameworkContext {
  store: StateStore;
  app: FastifyInstance;
  logger: Logger;
  clock?: Clock;
  master: Master;
  transport(): SchedulerTransport;
}

export function servicesFrameworkFactory(ctx: ServicesFrameworkContext): ServicesFramework {
  const framework = new ServicesFramework({
    store: ctx.store,
    transport: () => ctx.transport(),
    master: ctx.master,
    logger: ctx.logger.child({ c: 'services' }),
    ...(ctx.clock ? { clock: ctx.clock } : {}),
  });
  registerServiceRoutes(ctx.app, framework);
  return framework;
}
