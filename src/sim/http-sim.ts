/**
 * Hollow agents attached to a running master over HTTP (`berth sim`): each agent holds one event stream
 * (one connection); their UPDATE and HEARTBEAT calls share a bounded pool of keep-alive connections, so
 * that N agents cost about N + `callConnections` sockets on each side.
 */
import { Agent as UndiciAgent } from 'undici';
import type { AgentInfo } from '../api/mesos.js';
import type { Logger } from '../core/logger.js';
import type { Resource } from '../core/resources.js';
import type { TaskDuration } from './duration.js';
import { HollowCluster } from './hollow-cluster.js';
import { simHttpLink } from './http-link.js';

export interface HttpSimOptions {
  masters: string[];
  agents: number;
  resources: Resource[];
  attributes?: AgentInfo['attributes'];
  duration: TaskDuration;
  exitCode?: number;
  hostnamePrefix?: string;
  token?: string;
  heartbeatSeconds?: number;
  /** Connections shared by all agents' calls (default 64). */
  callConnections?: number;
  concurrency?: number;
  logger?: Logger;
}

export interface HttpSim {
  cluster: HollowCluster;
  stop(): Promise<void>;
}

export async function startHttpSim(
  options: HttpSimOptions,
  onProgress?: (started: number) => void,
): Promise<HttpSim> {
  // Streams never time out; the master's PINGs keep them busy. A SUBSCRIBE unanswered for 20 s is tried
  // again on a new connection: after a restart of the master at 10k agents, a connection whose handshake
  // the master's full accept queue dropped can hang unanswered (seen: hundreds of agents for over 60 s).
  const streams = new UndiciAgent({ bodyTimeout: 0, headersTimeout: 20_000, keepAliveTimeout: 1000 });
  const calls = new UndiciAgent({ connections: options.callConnections ?? 64, headersTimeout: 60_000 });
  const cluster = new HollowCluster({
    agents: options.agents,
    link: () =>
      simHttpLink({
        masters: options.masters,
        streams,
        calls,
        ...(options.token ? { token: options.token } : {}),
      }),
    resources: options.resources,
    duration: options.duration,
    concurrency: options.concurrency ?? 64,
    ...(options.attributes ? { attributes: options.attributes } : {}),
    ...(options.exitCode !== undefined ? { exitCode: options.exitCode } : {}),
    ...(options.hostnamePrefix ? { hostnamePrefix: options.hostnamePrefix } : {}),
    ...(options.heartbeatSeconds !== undefined ? { heartbeatSeconds: options.heartbeatSeconds } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const stop = async (): Promise<void> => {
    await cluster.stop();
    await Promise.allSettled([streams.destroy(), calls.destroy()]);
  };
  try {
    await cluster.start(onProgress);
  } catch (err) {
    await stop();
    throw err;
  }
  return { cluster, stop };
}
