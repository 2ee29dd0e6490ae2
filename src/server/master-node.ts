/**
 * `berth master`: the master and the built-in frameworks as one process, with agents joining over HTTP.
 * `createMasterParts` is shared with `berth up`, which adds an in-process agent and the image store.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../core/logger.js';
import { RunFramework, registerRunRoutes } from '../frameworks/run/index.js';
import { localSchedulerTransport, Master, registerMasterRoutes } from '../master/index.js';
import { httpAgentFiles } from '../master/remote-files.js';
import { openStore, type StateStore } from '../store/index.js';
import { registerLeaderRoute } from '../ha/leader-routes.js';
import { builtInFrameworks } from './frameworks.js';
import { buildApp, ensureToken, isLoopback, listenApp } from './http-app.js';

export interface MasterParts {
  master: Master;
  run: RunFramework;
  /** Subscribes the built-in frameworks; call once the master is started. */
  startFrameworks(): Promise<void>;
  /** Stops the built-in frameworks (their tasks keep running). */
  stopFrameworks(): Promise<void>;
}

export interface MasterTuning {
  allocationIntervalMs?: number;
  agentTimeoutMs?: number;
  agentRemovalMs?: number;
  /** Completed tasks kept per framework, and torn-down frameworks kept (defaults 1000 and 50, as Mesos). */
  maxCompletedTasksPerFramework?: number;
  maxCompletedFrameworks?: number;
}

/** The master and the run framework on one fastify app, the framework on the in-process transport. */
export async function createMasterParts(
  options: {
    store: StateStore;
    app: FastifyInstance;
    logger: Logger;
    token?: string;
    /** The caller recovers the master itself (`master.recover()`) before it starts it. */
    deferRecovery?: boolean;
  } & MasterTuning,
): Promise<MasterParts> {
  const { store, app, logger } = options;
  const master = new Master({
    store,
    logger: logger.child({ c: 'master' }),
    allocationIntervalMs: options.allocationIntervalMs ?? 1000,
    remoteFiles: (agent) => httpAgentFiles(agent, options.token),
    ...(options.agentTimeoutMs ? { agentTimeoutMs: options.agentTimeoutMs } : {}),
    ...(options.agentRemovalMs ? { agentRemovalMs: options.agentRemovalMs } : {}),
    ...(options.maxCompletedTasksPerFramework !== undefined
      ? { maxCompletedTasksPerFramework: options.maxCompletedTasksPerFramework }
      : {}),
    ...(options.maxCompletedFrameworks !== undefined
      ? { maxCompletedFrameworks: options.maxCompletedFrameworks }
      : {}),
  });
  if (!options.deferRecovery) await master.recover();
  const run = new RunFramework({
    store,
    transport: localSchedulerTransport(master),
    logger: logger.child({ c: 'run' }),
    ...(options.maxCompletedTasksPerFramework !== undefined
      ? { maxFinished: options.maxCompletedTasksPerFramework }
      : {}),
  });
  registerMasterRoutes(app, master);
  // Counts of agents and tasks by state: how a client waits for a (restarted) cluster to be complete
  // without listing 100k tasks.
  app.get('/api/v1/summary', async () => master.summary());
  registerRunRoutes(app, run);
  const others = builtInFrameworks.map((create) =>
    create({
      store,
      app,
      master,
      logger: logger.child({ c: 'framework' }),
      transport: () => localSchedulerTransport(master),
    }),
  );
  return {
    master,
    run,
    async startFrameworks() {
      await run.start();
      for (const framework of others) await framework.start();
    },
    async stopFrameworks() {
      run.stop();
      for (const framework of others) await framework.stop();
    },
  };
}

export interface MasterNodeOptions extends MasterTuning {
  dataDir: string;
  /** The store URL (default: SQLite in the data dir). For several masters on etcd see leader-node.ts. */
  storeUrl?: string;
  port: number;
  listen: string;
  logger: Logger;
}

export interface MasterNode {
  url: string;
  token: string;
  tokenRequired: boolean;
  master: Master;
  stop(): Promise<void>;
}

export async function startMasterNode(options: MasterNodeOptions): Promise<MasterNode> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const token = ensureToken(options.dataDir);
  const tokenRequired = !isLoopback(options.listen);
  const store = await openStore(options.storeUrl ?? `sqlite:${join(options.dataDir, 'master.db')}`);
  const app = buildApp(options.logger, tokenRequired ? token : undefined);
  const parts = await createMasterParts({ ...options, store, app, token, deferRecovery: true });
  const self = { id: 'master', url: '' };
  registerLeaderRoute(app, () => ({ leader: { ...self, since: 0 }, self, is_leader: true }));
  // The port opens before the state loads from the store: agents and clients that come back to a restarted
  // master are accepted at once and their requests wait here until recovery is done, instead of finding
  // the port closed and retrying with backoff.
  let ready = false;
  let opened: () => void = () => {};
  const readiness = new Promise<void>((resolve) => (opened = resolve))
    .then(() => parts.master.recover())
    .then(() => {
      parts.master.start();
      ready = true;
    });
  readiness.catch(() => {}); // awaited below; a request that waits on it answers 500
  app.addHook('onRequest', async () => {
    if (!ready) await readiness;
  });
  const url = await listenApp(app, options.port, options.listen).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  self.url = url;
  opened();
  await readiness.catch(async (err: unknown) => {
    await app.close();
    await store.close();
    throw err;
  });
  await parts.startFrameworks();
  return {
    url,
    token,
    tokenRequired,
    master: parts.master,
    async stop() {
      await parts.stopFrameworks();
      await parts.master.stop(); // closes the event streams first, so the listener can close
      await app.close();
      await store.close();
    },
  };
}
