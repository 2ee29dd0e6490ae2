/**
 * `berth up`: the whole system in one process — the master, one agent, the built-in `run` framework and
 * the image store — on the embedded SQLite store in the data dir. The agent and the framework reach the
 * master through in-process transports that carry the same calls as the HTTP APIs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, Containerizer, detectResources } from '../agent/index.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RunFramework } from '../frameworks/run/index.js';
import { ImageStore } from '../image/index.js';
import { registerImageRoutes } from '../image/http.js';
import { localAgentLink, type Master } from '../master/index.js';
import { buildApp, ensureToken, isLoopback, listenApp } from '../server/http-app.js';
import { createMasterParts } from '../server/master-node.js';
import { chooseRuntime, launcherFor } from '../server/runtime-choice.js';
import { openStore } from '../store/index.js';
import { startRegistry, type RunningRegistry } from '../registry/index.js';

export interface SingleNodeOptions {
  dataDir: string;
  port: number;
  listen: string;
  runtime?: 'runc' | 'process';
  resources?: string;
  logger: Logger;
  allocationIntervalMs?: number;
  /** Completed tasks kept per framework, and torn-down frameworks kept (defaults 1000 and 50). */
  maxCompletedTasksPerFramework?: number;
  maxCompletedFrameworks?: number;
  /** The registry's port (default 5000; 0 runs none). Its data lives in <data-dir>/registry. */
  registryPort?: number;
  /** Where the cluster state lives (default: SQLite in the data dir); e.g. etcd://127.0.0.1:2379. */
  storeUrl?: string;
}

export interface SingleNode {
  url: string;
  runtime: 'runc' | 'process';
  runtimeNote?: string;
  tokenRequired: boolean;
  master: Master;
  agent: Agent;
  run: RunFramework;
  images: ImageStore;
  /** The registry, when one runs. */
  registry?: { url: string; port: number };
  /** Why no registry runs although one was asked for. */
  registryNote?: string;
  stop(): Promise<void>;
}

export async function startSingleNode(options: SingleNodeOptions): Promise<SingleNode> {
  const { dataDir, logger } = options;
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new InvalidArgumentError(`bad port "${options.port}"`);
  }
  const runtime = chooseRuntime(options.runtime);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = ensureToken(dataDir);
  const tokenRequired = !isLoopback(options.listen);
  const store = await openStore(options.storeUrl ?? `sqlite:${join(dataDir, 'state.db')}`);
  const images = await ImageStore.open(join(dataDir, 'images'), { logger });
  const app = buildApp(logger, tokenRequired ? token : undefined);
  const parts = await createMasterParts({
    store,
    app,
    logger,
    ...(options.allocationIntervalMs ? { allocationIntervalMs: options.allocationIntervalMs } : {}),
    ...(options.maxCompletedTasksPerFramework !== undefined
      ? { maxCompletedTasksPerFramework: options.maxCompletedTasksPerFramework }
      : {}),
    ...(options.maxCompletedFrameworks !== undefined
      ? { maxCompletedFrameworks: options.maxCompletedFrameworks }
      : {}),
  });
  registerImageRoutes(app, images, {
    findTask: (ref) => {
      const task = parts.master.findTask(ref);
      const image = task.task.container?.mesos?.image?.docker.name;
      return { id: task.id, image, sandbox: join(dataDir, 'agent', 'sandboxes', task.id) };
    },
    imagesInUse: () => parts.master.listTasks({ all: false }).flatMap((t) => (t.image ? [t.image] : [])),
    buildDir: join(dataDir, 'build'),
    logger,
  });
  const url = await listenApp(app, options.port, options.listen).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  parts.master.start();
  const registry = await startUpRegistry(dataDir, options.registryPort ?? 5000, options.listen, logger);

  const workDir = join(dataDir, 'agent');
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const stateRoot = join(workDir, 'runc');
  const agent = new Agent({
    store,
    link: localAgentLink(parts.master),
    containerizer: new Containerizer({
      images,
      launcher: launcherFor(runtime.kind, stateRoot, logger),
      hostLauncher: launcherFor('process', stateRoot, logger),
      logger,
      workDir,
    }),
    workDir,
    resources: detectResources(workDir, options.resources),
    logger: logger.child({ c: 'agent' }),
  });
  await agent.recover();
  await agent.start();
  await parts.startFrameworks();

  return {
    url,
    runtime: runtime.kind,
    ...(runtime.note ? { runtimeNote: runtime.note } : {}),
    tokenRequired,
    master: parts.master,
    agent,
    run: parts.run,
    images,
    ...(registry.running ? { registry: { url: registry.running.url, port: registry.running.port } } : {}),
    ...(registry.note ? { registryNote: registry.note } : {}),
    async stop() {
      await registry.running?.close();
      await parts.stopFrameworks();
      await agent.stop();
      await parts.master.stop(); // closes the event streams first, so the listener can close
      await app.close();
      await store.close();
    },
  };
}

/** The registry of `berth up`, on its own port; a port in use costs the registry, not the cluster. */
async function startUpRegistry(
  dataDir: string,
  port: number,
  listen: string,
  logger: Logger,
): Promise<{ running?: RunningRegistry; note?: string }> {
  if (port === 0) return {};
  try {
    const running = await startRegistry({ root: join(dataDir, 'registry'), port, listen, logger });
    return { running };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return { note: `no registry: port ${port} on ${listen} is in use; pick another with --registry-port` };
  }
}
