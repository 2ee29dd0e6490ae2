/**
 * In-process transports for `berth up`: the agent and the built-in frameworks talk to the master through
 * the same calls and events as over HTTP, without the sockets. Events are delivered asynchronously and in
 * order, as a network would, so neither side can re-enter the other.
 */
import type { AgentFilesProvider, AgentStreamHandlers, MasterLink } from '../agent/master-link.js';
import type { AgentCall, AgentEvent } from '../api/agent.js';
import type { SchedulerCall, SchedulerEvent } from '../api/scheduler.js';
import type { SchedulerStreamHandlers, SchedulerTransport } from '../sdk/transport.js';
import type { Master } from './master.js';
import type { EventSink } from './types.js';

function asyncSink<E>(handlers: {
  onEvent(e: E): void;
  onClose(reason?: string): void;
}): EventSink<E> & { closed: boolean } {
  const sink = {
    closed: false,
    send(event: E) {
      if (sink.closed) return;
      queueMicrotask(() => {
        if (!sink.closed) handlers.onEvent(event);
      });
    },
    close(reason?: string) {
      if (sink.closed) return;
      sink.closed = true;
      queueMicrotask(() => handlers.onClose(reason));
    },
  };
  return sink;
}

export function localSchedulerTransport(master: Master): SchedulerTransport {
  const streams = new Map<string, EventSink<SchedulerEvent> & { closed: boolean }>();
  return {
    async subscribe(call: SchedulerCall, handlers: SchedulerStreamHandlers) {
      await Promise.resolve();
      const sink = asyncSink(handlers);
      const { streamId } = master.subscribeFramework(call, sink);
      streams.set(streamId, sink);
      return { streamId };
    },
    async call(streamId: string, call: SchedulerCall) {
      await Promise.resolve();
      master.handleSchedulerCall(streamId, call);
    },
    close() {
      for (const [streamId, sink] of streams) {
        sink.closed = true;
        master.disconnectFramework(streamId);
      }
      streams.clear();
    },
  };
}

export function localAgentLink(master: Master): MasterLink {
  const streams = new Map<string, EventSink<AgentEvent> & { closed: boolean }>();
  return {
    async subscribe(
      call: Extract<AgentCall, { type: 'SUBSCRIBE' }>,
      handlers: AgentStreamHandlers,
      files: AgentFilesProvider,
    ) {
      await Promise.resolve();
      const sink = asyncSink(handlers);
      const { streamId } = master.subscribeAgent(call, sink, files);
      streams.set(streamId, sink);
      return { streamId };
    },
    async call(streamId: string, call: AgentCall) {
      await Promise.resolve();
      master.handleAgentCall(streamId, call);
    },
    close() {
      for (const [streamId, sink] of streams) {
        sink.closed = true;
        master.disconnectAgent(streamId);
      }
      streams.clear();
    },
  };
}
