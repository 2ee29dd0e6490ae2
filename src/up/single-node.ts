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

export interface SingleNodeOptions {
  dataDir: string;
  port: number;
  listen: string;
  runtime?: 'runc' | 'process';
  resources?: string;
  logger: Logger;
  allocationIntervalMs?: number;
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
  const store = await openStore(`sqlite:${join(dataDir, 'state.db')}`);
  const images = await ImageStore.open(join(dataDir, 'images'), { logger });
  const app = buildApp(logger, tokenRequired ? token : undefined);
  const parts = await createMasterParts({
    store,
    app,
    logger,
    ...(options.allocationIntervalMs ? { allocationIntervalMs: options.allocationIntervalMs } : {}),
  });
  registerImageRoutes(app, images);
  const url = await listenApp(app, options.port, options.listen).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  parts.master.start();

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
    async stop() {
      parts.run.stop();
      await agent.stop();
      await app.close();
      await parts.master.stop();
      await store.close();
    },
  };
}
