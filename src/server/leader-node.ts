/**
 * `berth master --store etcd://…`: one of several masters sharing state in etcd. Each process listens at
 * once and campaigns for the leader key (src/ha/leader-election.ts):
 * - the leader runs a term: a fresh Master recovered from the store, the built-in frameworks, and their
 *   routes, all writing through a FencedStore, so that a deposed leader can never write;
 * - a standby answers every call (scheduler, agent, operator, framework APIs) with a 307 to the leader's
 *   advertised URL, holding it while an election is under way; `GET /api/v1/leader` and
 *   `GET /api/v1/health` it answers itself.
 * On losing the lease the term stops at once (frameworks, master, event streams) and the process goes back
 * to being a standby; a later election may make it leader again with a new term.
 *
 * One HTTP server serves both: each request goes to the running term's fastify app, or to the standby's.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { FencedStore } from '../ha/fenced-store.js';
import { LeaderElection } from '../ha/leader-election.js';
import { registerLeaderRoute, type LeaderView } from '../ha/leader-routes.js';
import { computeRedirect, isServedLocally, type LeaderInfo } from '../ha/leadership.js';
import type { Master } from '../master/index.js';
import { openStore, type StoreFence } from '../store/index.js';
import { buildApp, ensureToken, isLoopback, PortInUseError } from './http-app.js';
import { createMasterParts, type MasterParts, type MasterTuning } from './master-node.js';

export class NoLeaderError extends BerthError {
  readonly code = 'ERR_LEADER_UNAVAILABLE';
  override readonly retryable = true;
}

export interface HaMasterNodeOptions extends MasterTuning {
  /** An etcd:// store URL shared by all masters. */
  storeUrl: string;
  dataDir: string;
  port: number;
  listen: string;
  /** The URL other masters redirect clients to (default: the listen address). */
  advertise?: string;
  logger: Logger;
  /** The leader lease's TTL (default 3000 ms). */
  leaseTtlMs?: number;
  /** How long a standby holds a call while no leader is known before answering 503 (default 4 s). */
  standbyWaitMs?: number;
}

export interface HaMasterNode {
  url: string;
  advertise: string;
  id: string;
  token: string;
  tokenRequired: boolean;
  election: LeaderElection;
  /** The master of the running term; undefined on a standby. */
  readonly master: Master | undefined;
  stop(): Promise<void>;
}

interface RunningTerm {
  app: FastifyInstance;
  parts?: MasterParts;
  ready: boolean;
  stopped: boolean;
}

export async function startHaMasterNode(options: HaMasterNodeOptions): Promise<HaMasterNode> {
  const { logger } = options;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const token = ensureToken(options.dataDir);
  const tokenRequired = !isLoopback(options.listen);
  const authToken = tokenRequired ? token : undefined;
  const store = await openStore(options.storeUrl);
  const server = createServer();
  let url: string;
  try {
    url = await listen(server, options.port, options.listen);
  } catch (err) {
    await store.close();
    throw err;
  }
  const advertise = (options.advertise ?? url).replace(/\/+$/, '');
  const id = `${hostname()}-${randomBytes(4).toString('hex')}`;
  let term: RunningTerm | undefined;
  let transitions: Promise<void> = Promise.resolve();

  const election: LeaderElection = new LeaderElection({
    store,
    self: { id, url: advertise },
    ...(options.leaseTtlMs ? { ttlMs: options.leaseTtlMs } : {}),
    logger: logger.child({ c: 'election' }),
    onElected: (fence) => {
      transitions = transitions
        .then(() => startTerm(fence))
        .catch((err: unknown) => {
          logger.error({ err }, 'starting the leader term failed; stepping down');
          void election.resign();
        });
    },
    onDeposed: () => {
      const ending = term;
      term = undefined;
      if (ending) transitions = transitions.then(() => stopTerm(ending));
    },
  });
  const view = (): LeaderView => ({
    leader: election.leader ?? null,
    self: { id, url: advertise },
    is_leader: election.isLeader() && term?.ready === true,
  });

  async function startTerm(fence: StoreFence): Promise<void> {
    if (!election.isLeader()) return;
    const started = Date.now();
    const app = buildApp(logger, authToken);
    const running: RunningTerm = { app, ready: false, stopped: false };
    term = running;
    registerLeaderRoute(app, view);
    const fenced = new FencedStore(store, fence, () => void election.resign());
    running.parts = await createMasterParts({ ...options, store: fenced, app, logger, token });
    await app.ready();
    if (term !== running) return; // deposed while recovering: stopTerm is queued
    running.parts.master.start();
    // The built-in frameworks load their state and re-subscribe (in process) before any request is routed
    // here, so that their APIs never answer from an empty state.
    await running.parts.startFrameworks();
    if (term !== running) return;
    running.ready = true;
    logger.warn({ id, url: advertise, ms: Date.now() - started }, 'leading: the master is serving');
  }

  async function stopTerm(ending: RunningTerm): Promise<void> {
    if (ending.stopped) return;
    ending.stopped = true;
    ending.ready = false;
    // The frameworks and the master stop acting now; their last writes fail on the fence.
    await ending.parts?.stopFrameworks().catch((err: unknown) => logger.warn({ err }, 'stopping frameworks'));
    await withTimeout(ending.parts?.master.stop(), 2000);
    await ending.app.close().catch(() => undefined);
  }

  const standby = buildStandbyApp(logger, authToken, election, view, () => term?.ready === true, options);
  await standby.ready();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const running = term;
    if (running?.ready && (isServedLocally(req.url ?? '') || election.isLeader()) && term === running)
      running.app.routing(req, res);
    else standby.routing(req, res);
  });
  await election.start();

  return {
    url,
    advertise,
    id,
    token,
    tokenRequired,
    election,
    get master() {
      return term?.ready ? term.parts?.master : undefined;
    },
    async stop() {
      // A leader first ends its term while it still holds the lease, so that its last writes land; then
      // it hands the lease back, and a standby takes over at once.
      const ending = term;
      term = undefined;
      if (ending) transitions = transitions.then(() => stopTerm(ending));
      await transitions;
      await election.close();
      await transitions;
      await standby.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}

/** The standby's answers: the leader (307), or 503 when no leader is elected within the wait. */
function buildStandbyApp(
  logger: Logger,
  token: string | undefined,
  election: LeaderElection,
  view: () => LeaderView,
  selfReady: () => boolean,
  options: HaMasterNodeOptions,
): FastifyInstance {
  const app = buildApp(logger, token);
  // Bodies are not read here: a 307 makes the client send the same body to the leader.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  registerLeaderRoute(app, view);
  app.get('/api/v1/health', async () => ({ ok: true, role: 'standby' }));
  const waitMs = options.standbyWaitMs ?? 4000;
  app.all('/*', async (req: FastifyRequest, reply: FastifyReply) => {
    const leader = await waitForServingLeader(election, selfReady, waitMs);
    if (!leader)
      throw new NoLeaderError(
        `no leader master was elected within ${waitMs / 1000} s: check that etcd is reachable and a master runs`,
      );
    return reply.code(307).header('location', computeRedirect(leader.url, req.url)).send();
  });
  return app;
}

/** The leader once known, and — when it is this process — once its term serves. */
async function waitForServingLeader(
  election: LeaderElection,
  selfReady: () => boolean,
  waitMs: number,
): Promise<LeaderInfo | undefined> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const leader = await election.waitForLeader(deadline - Date.now());
    if (!leader) return undefined;
    if (leader.id !== election.self.id || selfReady()) return leader;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return undefined;
}

async function withTimeout(promise: Promise<void> | undefined, ms: number): Promise<void> {
  if (!promise) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(port, host) : err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${actual}`;
}
