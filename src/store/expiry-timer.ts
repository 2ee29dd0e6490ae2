import type { Clock, Timer } from '../core/clock.js';
import type { Lease } from './state-store.js';

/** One timer on the clock that fires `onDue` at the earliest deadline it was armed for. */
export class ExpiryTimer {
  private timer: Timer | undefined;
  private at: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
  ) {}

  /** Arms the timer for the time `at` (clock ms), or disarms it when undefined. */
  arm(at: number | undefined): void {
    if (at === this.at && this.timer) return;
    this.stop();
    if (at === undefined) return;
    this.at = at;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.at = undefined;
        this.onDue();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.at = undefined;
  }
}

export function makeLease(
  id: string,
  ttlMs: number,
  keepAlive: (id: string) => Promise<void>,
  revoke: (id: string) => Promise<void>,
): Lease {
  return Object.freeze({ id, ttlMs, keepAlive: () => keepAlive(id), revoke: () => revoke(id) });
}
