import type { AgentCall, AgentEvent, OutputRecord } from '../api/agent.js';

/** How the agent reads a task's output for the master (the master proxies it to clients). */
export interface AgentFilesProvider {
  output(taskId: string, options: { follow: boolean; signal?: AbortSignal }): AsyncIterable<OutputRecord>;
}

export interface AgentStreamHandlers {
  onEvent(event: AgentEvent): void;
  /** The stream ended: the master went away or closed it. The agent subscribes again. */
  onClose(reason?: string): void;
}

/**
 * The agent's connection to the master: over HTTP (`POST /api/v1/agent`, a RecordIO event stream), or
 * in-process inside `berth up`. Both carry the same calls and events.
 */
export interface MasterLink {
  subscribe(
    call: Extract<AgentCall, { type: 'SUBSCRIBE' }>,
    handlers: AgentStreamHandlers,
    files: AgentFilesProvider,
  ): Promise<{ streamId: string }>;
  call(streamId: string, call: AgentCall): Promise<void>;
  close(): void;
}
