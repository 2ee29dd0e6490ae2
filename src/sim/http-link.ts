/**
 * The agent protocol over HTTP for hollow agents: the same calls and events as `HttpMasterLink`, but the
 * event streams and the calls go through dispatchers the simulator chooses, so that thousands of agents
 * share a bounded pool of connections for their calls (each stream holds one connection of its own).
 */
import type { Dispatcher } from 'undici';
import type { AgentFilesProvider, AgentStreamHandlers, MasterLink } from '../agent/master-link.js';
import type { AgentCall, AgentEvent } from '../api/agent.js';
import { StreamClient } from '../sdk/stream-client.js';

const AGENT_STREAM_HEADER = 'berth-agent-stream-id';

export interface SimHttpLinkOptions {
  masters: string[];
  token?: string;
  /** Carries the long-lived event streams (one connection each). */
  streams?: Dispatcher;
  /** Carries UPDATE and HEARTBEAT calls. */
  calls?: Dispatcher;
}

export function simHttpLink(options: SimHttpLinkOptions): MasterLink {
  const client = new StreamClient({
    masters: options.masters,
    path: '/api/v1/agent',
    streamHeader: AGENT_STREAM_HEADER,
    ...(options.token ? { token: options.token } : {}),
    ...(options.streams ? { streamDispatcher: options.streams } : {}),
    ...(options.calls ? { callDispatcher: options.calls } : {}),
  });
  return {
    subscribe(
      call: Extract<AgentCall, { type: 'SUBSCRIBE' }>,
      handlers: AgentStreamHandlers,
      _f: AgentFilesProvider,
    ) {
      return client.subscribe<AgentEvent>(call, handlers);
    },
    call: (streamId, call) => client.call(streamId, call),
    close: () => client.close(),
  };
}
