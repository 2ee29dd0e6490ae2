/**
 * `berth up`: the whole system in one process — the master, one agent, the built-in `run` framework and
 * the image store — on the embedded SQLite store in the data dir. The agent and the framework reach the
 * master through in-process transports that carry the same calls as the HTTP APIs.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, Containerizer, detectResources } from '../agent/index.js';
import { installErrorHandler, installTokenAuth } from '../api/http-server.js';
import { BerthError, InvalidArgumentError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { RunFramework, registerRunRoutes } from '../frameworks/run/index.js';
import { ImageStore } from '../image/index.js';
import { registerImageRoutes } from '../image/http.js';
import { localAgentLink, localSchedulerTransport, Master, registerMasterRoutes } from '../master/index.js';
import { createLauncher, detectRuntime } from '../runtime/index.js';
import { openStore, type StateStore } from '../store/index.js';

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

export class PortInUseError extends BerthError {
  readonly code = 'ERR_PORT_IN_USE';
  constructor(port: number, listen: string) {
    super(
      `port ${port} on ${listen} is already in use: is berth already running? Stop it, or pick another port with --port`,
    );
  }
}

export class RuntimeUnavailableError extends BerthError {
  readonly code = 'ERR_RUNTIME_UNAVAILABLE';
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** The token lives in `<data-dir>/token`, mode 0600; it is made on first start. */
export function ensureToken(dataDir: string): string {
  const path = join(dataDir, 'token');
  if (!existsSync(path)) writeFileSync(path, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

function chooseRuntime(wanted: SingleNodeOptions['runtime']): { kind: 'runc' | 'process'; note?: string } {
  const detected = detectRuntime();
  if (wanted === 'process') return { kind: 'process' };
  if (wanted === 'runc' && detected.kind !== 'runc')
    throw new RuntimeUnavailableError(`--runtime runc is not possible here: ${detected.reason}`);
  if (detected.kind === 'process')
    return {
      kind: 'process',
      note: `runc cannot be used (${detected.reason}): tasks run as plain processes without isolation`,
    };
  return { kind: 'runc' };
}

export async function startSingleNode(options: SingleNodeOptions): Promise<SingleNode> {
  const { dataDir, logger } = options;
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    throw new InvalidArgumentError(`bad port "${options.port}"`);
  const runtime = chooseRuntime(options.runtime);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = ensureToken(dataDir);
  const tokenRequired = !isLoopback(options.listen);
  const store = await openStore(`sqlite:${join(dataDir, 'state.db')}`);
  const images = await ImageStore.open(join(dataDir, 'images'), { logger });
  const master = new Master({
    store,
    logger: logger.child({ c: 'master' }),
    allocationIntervalMs: options.allocationIntervalMs ?? 1000,
  });
  await master.recover();
  const run = new RunFramework({
    store,
    transport: localSchedulerTransport(master),
    logger: logger.child({ c: 'run' }),
  });
  const app = buildApp(logger, tokenRequired ? token : undefined);
  registerMasterRoutes(app, master);
  registerRunRoutes(app, run);
  registerImageRoutes(app, images);
  await listen(app, options.port, options.listen, store);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.listen.includes(':') ? `[${options.listen}]` : options.listen;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  master.start();
  const workDir = join(dataDir, 'agent');
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const launcher = createLauncher(runtime.kind, { stateRoot: join(workDir, 'runc'), logger });
  const agent = new Agent({
    store,
    link: localAgentLink(master),
    containerizer: new Containerizer({ images, launcher, logger }),
    workDir,
    resources: detectResources(workDir, options.resources),
    logger: logger.child({ c: 'agent' }),
  });
  await agent.recover();
  await agent.start();
  await run.start();

  return {
    url,
    runtime: runtime.kind,
    ...(runtime.note ? { runtimeNote: runtime.note } : {}),
    tokenRequired,
    master,
    agent,
    run,
    images,
    async stop() {
      run.stop();
      await agent.stop();
      await app.close();
      await master.stop();
      await store.close();
    },
  };
}

function buildApp(logger: Logger, token: string | undefined): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  installErrorHandler(app, logger);
  installTokenAuth(app, token);
  return app;
}

async function listen(app: FastifyInstance, port: number, host: string, store: StateStore): Promise<void> {
  try {
    await app.listen({ port, host });
  } catch (err) {
    await store.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(port, host);
    throw err;
  }
}
