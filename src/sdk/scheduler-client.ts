/**
 * A typed framework client for the scheduler API: subscribes (and subscribes again with the same
 * framework id, with backoff, when the stream drops), dispatches events to handlers, acknowledges status
 * updates after the handler ran, and wraps every call. Frameworks built into berth use it exactly as an
 * outside framework would.
 */
import type { FrameworkInfo, Offer, TaskInfo, TaskStatus } from '../api/mesos.js';
import type { Operation, SchedulerCall, SchedulerEvent } from '../api/scheduler.js';
import { systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { SchedulerTransport } from './transport.js';

export interface SchedulerHandlers {
  subscribed?(frameworkId: string): void | Promise<void>;
  offers?(offers: Offer[]): void | Promise<void>;
  rescind?(offerId: string): void;
  /** Runs before the update is acknowledged: persist what matters first. */
  update?(status: TaskStatus): void | Promise<void>;
  error?(message: string): void;
}

export interface SchedulerClientOptions {
  transport: SchedulerTransport;
  framework: FrameworkInfo;
  handlers: SchedulerHandlers;
  clock?: Clock;
  logger?: Logger;
  /**
   * Asks the master for the state of all the framework's tasks (implicit RECONCILE) on every subscription
   * and then at this interval (default 10 minutes; 0 only on subscription), so that missed updates are
   * found. Mesos recommends the same of every framework.
   */
  reconcileIntervalMs?: number;
}

export class SchedulerClient {
  private streamId: string | undefined;
  private frameworkId: string | undefined;
  private closed = false;
  private backoffMs = 250;
  private chain: Promise<void> = Promise.resolve();
  private reconcileTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: SchedulerClientOptions) {
    this.frameworkId = options.framework.id?.value;
  }

  get id(): string | undefined {
    return this.frameworkId;
  }

  async subscribe(): Promise<string> {
    const info: FrameworkInfo = {
      ...this.options.framework,
      ...(this.frameworkId ? { id: { value: this.frameworkId } } : {}),
    };
    let resolveId!: (id: string) => void;
    const subscribed = new Promise<string>((resolve) => (resolveId = resolve));
    const { streamId } = await this.options.transport.subscribe(
      {
        type: 'SUBSCRIBE',
        ...(this.frameworkId ? { framework_id: { value: this.frameworkId } } : {}),
        subscribe: { framework_info: info },
      },
      {
        onEvent: (event) => {
          if (event.type === 'SUBSCRIBED') resolveId(event.subscribed.framework_id.value);
          this.enqueue(event);
        },
        onClose: (reason) => this.onClose(reason),
      },
    );
    this.streamId = streamId;
    const id = await subscribed;
    this.frameworkId = id;
    this.backoffMs = 250;
    this.scheduleReconciliation();
    return id;
  }

  private scheduleReconciliation(): void {
    const reconcile = (): void => {
      this.reconcile().catch((err: unknown) =>
        this.logger.warn({ err: describeError(err) }, 'reconcile failed'),
      );
    };
    reconcile();
    const every = this.options.reconcileIntervalMs ?? 600_000;
    if (this.reconcileTimer || every <= 0) return;
    this.reconcileTimer = setInterval(reconcile, every);
    this.reconcileTimer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.options.transport.close();
  }

  accept(offerIds: string[], operations: Operation[], refuseSeconds?: number): Promise<void> {
    return this.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: offerIds.map((value) => ({ value })),
        operations,
        ...(refuseSeconds !== undefined ? { filters: { refuse_seconds: refuseSeconds } } : {}),
      },
    });
  }

  launch(offerIds: string[], tasks: TaskInfo[], refuseSeconds?: number): Promise<void> {
    return this.accept(offerIds, [{ type: 'LAUNCH', launch: { task_infos: tasks } }], refuseSeconds);
  }

  decline(offerIds: string[], refuseSeconds?: number): Promise<void> {
    return this.call({
      type: 'DECLINE',
      decline: {
        offer_ids: offerIds.map((value) => ({ value })),
        ...(refuseSeconds !== undefined ? { filters: { refuse_seconds: refuseSeconds } } : {}),
      },
    });
  }

  revive(): Promise<void> {
    return this.call({ type: 'REVIVE' });
  }

  suppress(): Promise<void> {
    return this.call({ type: 'SUPPRESS' });
  }

  kill(taskId: string, agentId?: string): Promise<void> {
    return this.call({
      type: 'KILL',
      kill: { task_id: { value: taskId }, ...(agentId ? { agent_id: { value: agentId } } : {}) },
    });
  }

  reconcile(tasks: Array<{ taskId: string; agentId?: string }> = []): Promise<void> {
    return this.call({
      type: 'RECONCILE',
      reconcile: {
        tasks: tasks.map((t) => ({
          task_id: { value: t.taskId },
          ...(t.agentId ? { agent_id: { value: t.agentId } } : {}),
        })),
      },
    });
  }

  private async call(call: SchedulerCall): Promise<void> {
    if (!this.streamId || !this.frameworkId) throw new Error('not subscribed');
    await this.options.transport.call(this.streamId, { ...call, framework_id: { value: this.frameworkId } });
  }

  /** Events are handled one at a time, in order; a slow handler delays the next event, never reorders. */
  private enqueue(event: SchedulerEvent): void {
    this.chain = this.chain
      .then(() => this.dispatch(event))
      .catch((err: unknown) => this.logger.error({ err, event: event.type }, 'framework handler failed'));
  }

  private get logger(): Logger {
    return this.options.logger ?? silentLogger;
  }

  private async dispatch(event: SchedulerEvent): Promise<void> {
    const h = this.options.handlers;
    switch (event.type) {
      case 'SUBSCRIBED':
        return h.subscribed?.(event.subscribed.framework_id.value);
      case 'OFFERS':
        return h.offers
          ? h.offers(event.offers.offers)
          : this.decline(event.offers.offers.map((o) => o.id.value));
      case 'RESCIND':
        return h.rescind?.(event.rescind.offer_id.value);
      case 'UPDATE': {
        const status = event.update.status;
        await h.update?.(status);
        if (status.uuid && status.agent_id) {
          // Sent once the handler ran, but not waited for: the next event need not wait a round trip
          // (a lost acknowledgement only means the agent sends the update again).
          this.call({
            type: 'ACKNOWLEDGE',
            acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
          }).catch((err: unknown) =>
            this.logger.warn({ err: describeError(err), task: status.task_id.value }, 'acknowledge failed'),
          );
        }
        return;
      }
      case 'ERROR':
        return h.error?.(event.error.message);
      default:
        return;
    }
  }

  private onClose(reason?: string): void {
    this.streamId = undefined;
    if (this.closed) return;
    this.logger.warn({ reason }, 'scheduler stream closed; subscribing again');
    const clock = this.options.clock ?? systemClock;
    const retry = (): void => {
      if (this.closed) return;
      this.subscribe().catch((err: unknown) => {
        this.logger.warn({ err: describeError(err) }, 'subscribe failed');
        this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
        clock.setTimeout(retry, this.backoffMs);
      });
    };
    clock.setTimeout(retry, this.backoffMs);
  }
}
