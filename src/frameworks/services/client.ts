/**
 * A small typed client of the services API (`/v2/...`) and of the jobs framework's apply call, for the CLI.
 * It sends through the CLI's `ApiClient` (node:http alone, so commands start fast; RemoteError with the
 * server's code; a standby's 307 followed; an unreachable master as one line saying how to start one).
 */
import type { IncomingMessage } from 'node:http';
import { ApiClient, type Method } from '../../cli/client.js';
import { readEventStream } from './sse.js';
import type {
  DeploymentView,
  InstanceView,
  PlanResult,
  QueueEntry,
  ServiceEvent,
  ServiceView,
} from './types.js';

export interface StartedDeployment {
  deploymentId: string;
  version: string;
  deployment: DeploymentView;
}

export interface ServiceTask extends InstanceView {
  endpoints: string[];
}

/** `/shop/web` → `/v2/apps/shop/web`, each segment escaped. */
export function appPath(id: string): string {
  const segments = id.split('/').filter((s) => s !== '');
  return `/v2/apps/${segments.map(encodeURIComponent).join('/')}`;
}

const flags = (f: Record<string, boolean | undefined>): string => {
  const set = Object.entries(f).filter(([, v]) => v !== undefined);
  return set.length ? `?${set.map(([k, v]) => `${k}=${String(v)}`).join('&')}` : '';
};

export class ServicesClient {
  private readonly api: ApiClient;

  constructor(
    readonly master: string,
    token?: string,
  ) {
    this.api = new ApiClient(master, token);
  }

  /** Sends a request; resolves with the response once its status is below 300. */
  open(method: Method, path: string, body?: unknown, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.api.open(method, path, {
      ...(body !== undefined ? { body: JSON.stringify(body), contentType: 'application/json' } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    return this.api.call<T>(method, path, body);
  }

  list(): Promise<ServiceView[]> {
    return this.call<{ apps: ServiceView[] }>('GET', '/v2/apps').then((r) => r.apps);
  }

  get(id: string): Promise<ServiceView> {
    return this.call<{ app: ServiceView }>('GET', appPath(id)).then((r) => r.app);
  }

  tasks(id: string): Promise<ServiceTask[]> {
    return this.call<{ tasks: ServiceTask[] }>('GET', `${appPath(id)}/tasks`).then((r) => r.tasks);
  }

  apply(docs: unknown[], opts: { dryRun?: boolean; force?: boolean } = {}): Promise<DeploymentView[]> {
    return this.call<{ deployments: DeploymentView[] }>(
      'POST',
      `/v2/apply${flags({ dryRun: opts.dryRun ?? false, force: opts.force })}`,
      { docs },
    ).then((r) => r.deployments);
  }

  plan(doc: unknown): Promise<PlanResult> {
    return this.call<PlanResult>('POST', '/v2/plan', { doc });
  }

  scale(id: string, instances: number, opts: { force?: boolean } = {}): Promise<StartedDeployment> {
    return this.call('PUT', `${appPath(id)}${flags({ force: opts.force })}`, { instances });
  }

  restart(id: string, opts: { force?: boolean } = {}): Promise<StartedDeployment> {
    return this.call('POST', `${appPath(id)}/restart${flags({ force: opts.force })}`);
  }

  rollback(id: string): Promise<StartedDeployment> {
    return this.call('POST', `${appPath(id)}/rollback`);
  }

  remove(id: string, opts: { force?: boolean } = {}): Promise<StartedDeployment> {
    return this.call('DELETE', `${appPath(id)}${flags({ force: opts.force })}`);
  }

  deployments(): Promise<DeploymentView[]> {
    return this.call<DeploymentView[]>('GET', '/v2/deployments');
  }

  cancelDeployment(id: string, opts: { force?: boolean } = {}): Promise<Partial<StartedDeployment>> {
    return this.call('DELETE', `/v2/deployments/${encodeURIComponent(id)}${flags({ force: opts.force })}`);
  }

  queue(): Promise<QueueEntry[]> {
    return this.call<{ queue: QueueEntry[] }>('GET', '/v2/queue').then((r) => r.queue);
  }

  /** The jobs framework's create-or-replace (`kind: Job` or `CronJob`); `dryRun` only validates. */
  putJob(id: string, doc: unknown, opts: { dryRun: boolean }): Promise<unknown> {
    return this.call('PUT', `/v1/jobs/${encodeURIComponent(id)}?dryRun=${opts.dryRun}`, doc);
  }

  /**
   * Opens `/v2/events`. Resolves once the server has accepted the stream, so that every event after that
   * point is seen; iterate the result for the events. Abort `signal` to close it.
   */
  async events(signal: AbortSignal): Promise<AsyncGenerator<ServiceEvent>> {
    const res = await this.open('GET', '/v2/events', undefined, signal);
    return (async function* () {
      try {
        for await (const e of readEventStream(res)) yield JSON.parse(e.data) as ServiceEvent;
      } catch (err) {
        if (!signal.aborted) throw err;
      } finally {
        res.destroy();
      }
    })();
  }
}
