/** Time, passed in. Production code uses `systemClock`; tests use `FakeClock` and move time by hand. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

export interface Timer {
  readonly id: number;
}

let nextTimerId = 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return Object.assign({ id: nextTimerId++ }, { handle });
  },
  clearTimeout(timer) {
    clearTimeout((timer as unknown as { handle: NodeJS.Timeout }).handle);
  },
};

export class FakeClock implements Clock {
  private pending = new Map<number, { at: number; fn: () => void }>();

  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = nextTimerId++;
    this.pending.set(id, { at: this.current + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(timer: Timer): void {
    this.pending.delete(timer.id);
  }

  /** Moves time forward, firing due timers in order of their deadlines. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.pending)
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.pending.delete(next[0]);
      this.current = next[1].at;
      next[1].fn();
    }
    this.current = target;
  }
}
