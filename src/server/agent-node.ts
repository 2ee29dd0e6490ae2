/**
 * `berth agent`: one agent as its own process. It joins the master over HTTP, keeps its own SQLite store
 * and image store in its work dir, and serves task output (and its image store) on its own listener.
 */
import { mkdirSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { Agent, Containerizer, detectResources } from '../agent/index.js';
import { HttpMasterLink } from '../agent/http-master-link.js';
import { registerAgentRoutes } from '../agent/http.js';
import type { Logger } from '../core/logger.js';
import type { AgentInfo } from '../api/mesos.js';
import { ImageStore } from '../image/index.js';
import { registerImageRoutes } from '../image/http.js';
import { openStore } from '../store/index.js';
import { buildApp, isLoopback, listenApp } from './http-app.js';
import { chooseRuntime, launcherFor } from './runtime-choice.js';

export interface AgentNodeOptions {
  masters: string[];
  workDir: string;
  port: number;
  listen: string;
  hostname?: string;
  resources?: string;
  attributes?: AgentInfo['attributes'];
  runtime?: 'runc' | 'process';
  /** The cluster token: sent to the master, and required by this agent's API off loopback. */
  token?: string;
  logger: Logger;
  heartbeatSeconds?: number;
}

export interface AgentNode {
  url: string;
  agent: Agent;
  runtime: 'runc' | 'process';
  runtimeNote?: string;
  stop(): Promise<void>;
}

export async function startAgentNode(options: AgentNodeOptions): Promise<AgentNode> {
  const { workDir, logger } = options;
  const runtime = chooseRuntime(options.runtime);
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const store = await openStore(`sqlite:${join(workDir, 'agent.db')}`);
  const images = await ImageStore.open(join(workDir, 'images'), { logger });
  const app = buildApp(logger, !isLoopback(options.listen) ? options.token : undefined);
  // The listener starts first, so that the agent can announce its address; its routes find it here.
  const holder: { agent?: Agent } = {};
  registerImageRoutes(app, images);
  registerAgentRoutes(app, () => holder.agent);
  const url = await listenApp(app, options.port, options.listen).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const agent = new Agent({
    store,
    link: new HttpMasterLink({
      masters: options.masters,
      ...(options.token ? { token: options.token } : {}),
    }),
    containerizer: new Containerizer({
      images,
      launcher: launcherFor(runtime.kind, join(workDir, 'runc'), logger),
      hostLauncher: launcherFor('process', join(workDir, 'runc'), logger),
      logger,
      workDir,
    }),
    workDir,
    resources: detectResources(workDir, options.resources),
    hostname: options.hostname ?? osHostname(),
    address: url,
    ...(options.attributes ? { attributes: options.attributes } : {}),
    ...(options.heartbeatSeconds ? { heartbeatSeconds: options.heartbeatSeconds } : {}),
    logger,
  });
  holder.agent = agent;
  await agent.recover();
  await agent.start();
  const running = agent;
  return {
    url,
    agent: running,
    runtime: runtime.kind,
    ...(runtime.note ? { runtimeNote: runtime.note } : {}),
    async stop() {
      await running.stop();
      await app.close();
      await store.close();
    },
  };
}
