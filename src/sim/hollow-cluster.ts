/**
 * Thousands of hollow agents in one process: each is the real `Agent` (real agent protocol, real status
 * update manager, its own memory store) with the hollow containerizer. What would cost per agent is
 * shared: one containerizer, one heartbeat timer for all of them (agents heartbeat in slices, spread over
 * the interval), and optional shared HTTP dispatchers.
 */
import { Agent } from '../agent/agent.js';
import { instantTaskChecker } from '../agent/checks/index.js';
import type { MasterLink } from '../agent/master-link.js';
import type { AgentInfo } from '../api/mesos.js';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Resource } from '../core/resources.js';
import { MemoryStore } from '../store/memory/memory-store.js';
import type { TaskDuration } from './duration.js';
import { HollowContainerizer } from './hollow-containerizer.js';

export interface HollowClusterOptions {
  agents: number;
  /** Each agent's link to the master (in-process, or HTTP). */
  link: (index: number) => MasterLink;
  resources: Resource[];
  attributes?: AgentInfo['attributes'];
  duration: TaskDuration;
  exitCode?: number;
  /** Hostnames are `<prefix>-<index>` (default `hollow`). */
  hostnamePrefix?: string;
  /** Every agent heartbeats once per this interval (default 15 s), from one shared timer. */
  heartbeatSeconds?: number;
  /** How many agents subscribe at once while starting (default 256). */
  concurrency?: number;
  clock?: Clock;
  logger?: Logger;
}

const HEARTBEAT_SLICES = 15;

export class HollowCluster {
  readonly containerizer: HollowContainerizer;
  private readonly agents: Agent[] = [];
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private slice = 0;

  constructor(private readonly options: HollowClusterOptions) {
    this.containerizer = new HollowContainerizer({
      duration: options.duration,
      ...(options.exitCode !== undefined ? { exitCode: options.exitCode } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  get size(): number {
    return this.agents.length;
  }

  /** The agent ids the master gave, of the agents subscribed so far. */
  agentIds(): string[] {
    return this.agents.flatMap((a) => (a.id ? [a.id] : []));
  }

  /** Creates the agents and subscribes them, `concurrency` at a time. Rejects if one cannot subscribe. */
  async start(onProgress?: (started: number) => void): Promise<void> {
    const prefix = this.options.hostnamePrefix ?? 'hollow';
    const logger = this.options.logger ?? silentLogger;
    for (let i = 0; i < this.options.agents; i++) {
      this.agents.push(
        new Agent({
          store: new MemoryStore({
            historyRevisions: 1,
            ...(this.options.clock ? { clock: this.options.clock } : {}),
          }),
          link: this.options.link(i),
          containerizer: this.containerizer,
          workDir: `/nonexistent/berth-sim/${prefix}-${i}`,
          resources: this.options.resources,
          hostname: `${prefix}-${i}`,
          heartbeatSeconds: 0,
          // Health and readiness checks pass at once, so that services can run on hollow agents.
          checker: instantTaskChecker,
          ...(this.options.attributes ? { attributes: this.options.attributes } : {}),
          ...(this.options.clock ? { clock: this.options.clock } : {}),
          logger,
        }),
      );
    }
    let next = 0;
    let started = 0;
    const worker = async (): Promise<void> => {
      while (next < this.agents.length) {
        const agent = this.agents[next++]!;
        await agent.start();
        started++;
        if (onProgress && started % 1000 === 0) onProgress(started);
      }
    };
    const concurrency = Math.max(1, this.options.concurrency ?? 256);
    await Promise.all(Array.from({ length: Math.min(concurrency, this.agents.length) }, worker));
    this.startHeartbeats(logger);
  }

  private startHeartbeats(logger: Logger): void {
    const seconds = this.options.heartbeatSeconds ?? 15;
    if (seconds <= 0) return;
    // Each tick heartbeats one slice of the agents, so the master sees a steady trickle, not a wave.
    this.heartbeatTimer = setInterval(
      () => {
        const slice = this.slice++ % HEARTBEAT_SLICES;
        for (let i = slice; i < this.agents.length; i += HEARTBEAT_SLICES) {
          try {
            this.agents[i]!.heartbeat();
          } catch (err) {
            logger.warn({ err: describeError(err) }, 'heartbeat failed');
          }
        }
      },
      (seconds * 1000) / HEARTBEAT_SLICES,
    );
    this.heartbeatTimer.unref();
  }

  /** Stops every agent (their hollow tasks stay in memory until the process ends). */
  async stop(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await Promise.all(this.agents.map((a) => a.stop()));
  }
}
