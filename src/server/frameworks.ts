/**
 * The frameworks built into the master process besides `run`: each is a factory that gets the shared
 * parts (the store, the master's in-process scheduler transport, the HTTP app for its own API) and returns
 * something to start once the master is started and to stop on shutdown. A framework built in here uses
 * only the public scheduler API through the transport, exactly as an outside framework would.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Master } from '../master/index.js';
import type { SchedulerTransport } from '../sdk/index.js';
import type { StateStore } from '../store/index.js';
import { jobsFrameworkFactory } from '../frameworks/jobs/index.js';
import { servicesFrameworkFactory } from '../frameworks/services/index.js';

export interface FrameworkContext {
  store: StateStore;
  app: FastifyInstance;
  logger: Logger;
  clock?: Clock;
  /** The master, for read-only views (agents and their attributes); scheduling goes through `transport`. */
  master: Master;
  /** A new in-process scheduler transport to the master. */
  transport(): SchedulerTransport;
}

export interface BuiltInFramework {
  name: string;
  /** Loads its state, subscribes and reconciles. Called once the master is started. */
  start(): Promise<void>;
  stop(): void | Promise<void>;
}

export type FrameworkFactory = (ctx: FrameworkContext) => BuiltInFramework;

/** The built-in frameworks, in start order. Each registers its HTTP routes when it is created. */
export const builtInFrameworks: FrameworkFactory[] = [];
builtInFrameworks.push(jobsFrameworkFactory);
builtInFrameworks.push(servicesFrameworkFactory);
