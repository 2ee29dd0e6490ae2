/**
 * The agent's connection to a master over HTTP: SUBSCRIBE opens a RecordIO stream of events; UPDATE and
 * HEARTBEAT carry the `Berth-Agent-Stream-Id` header. With several masters, standbys redirect to the
 * leader and an unreachable master is skipped.
 */
import type { AgentCall, AgentEvent } from '../api/agent.js';
import { StreamClient } from '../sdk/stream-client.js';
import type { AgentFilesProvider, AgentStreamHandlers, MasterLink } from './master-link.js';

export const AGENT_STREAM_HEADER = 'berth-agent-stream-id';

export interface HttpMasterLinkOptions {
  masters: string[];
  token?: string;
}

export class HttpMasterLink implements MasterLink {
  private readonly client: StreamClient;

  constructor(options: HttpMasterLinkOptions) {
    this.client = new StreamClient({
      masters: options.masters,
      path: '/api/v1/agent',
      streamHeader: AGENT_STREAM_HEADER,
      ...(options.token ? { token: options.token } : {}),
    });
  }

  get master(): string {
    return this.client.master;
  }

  /** Over HTTP the master reads task output from the agent's own API, so `files` is not sent. */
  subscribe(
    call: Extract<AgentCall, { type: 'SUBSCRIBE' }>,
    handlers: AgentStreamHandlers,
    _files: AgentFilesProvider,
  ): Promise<{ streamId: string }> {
    return this.client.subscribe<AgentEvent>(call, handlers);
  }

  call(streamId: string, call: AgentCall): Promise<void> {
    return this.client.call(streamId, call);
  }

  close(): void {
    this.client.close();
  }
}
