/** The scheduler API over HTTP (`POST /api/v1/scheduler`, `Mesos-Stream-Id`), on one or more masters. */
import type { SchedulerCall, SchedulerEvent } from '../api/scheduler.js';
import { StreamClient } from './stream-client.js';
import type { SchedulerStreamHandlers, SchedulerTransport } from './transport.js';

export interface HttpTransportOptions {
  /** A master URL, or several (comma-separated or a list): standbys redirect to the leader. */
  master: string | string[];
  token?: string;
}

export const toMasterList = (master: string | string[]): string[] =>
  (Array.isArray(master) ? master : master.split(',')).map((m) => m.trim()).filter(Boolean);

export class HttpSchedulerTransport implements SchedulerTransport {
  private readonly client: StreamClient;

  constructor(options: HttpTransportOptions) {
    this.client = new StreamClient({
      masters: toMasterList(options.master),
      path: '/api/v1/scheduler',
      streamHeader: 'mesos-stream-id',
      ...(options.token ? { token: options.token } : {}),
    });
  }

  subscribe(call: SchedulerCall, handlers: SchedulerStreamHandlers): Promise<{ streamId: string }> {
    return this.client.subscribe<SchedulerEvent>(call, handlers);
  }

  call(streamId: string, call: SchedulerCall): Promise<void> {
    return this.client.call(streamId, call);
  }

  close(): void {
    this.client.close();
  }
}
