import type { SchedulerCall, SchedulerEvent } from '../api/scheduler.js';

export interface SchedulerStreamHandlers {
  onEvent(event: SchedulerEvent): void;
  /** The event stream ended (master gone, or it closed the stream). */
  onClose(reason?: string): void;
}

/**
 * Carries scheduler calls to a master and its events back: over HTTP (`POST /api/v1/scheduler`,
 * RecordIO), or in-process inside `berth up`. The SDK works the same on either.
 */
export interface SchedulerTransport {
  subscribe(call: SchedulerCall, handlers: SchedulerStreamHandlers): Promise<{ streamId: string }>;
  call(streamId: string, call: SchedulerCall): Promise<void>;
  close(): void;
}
