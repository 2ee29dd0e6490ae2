/** The memory store's leases: deadlines on the injected clock and the keys attached to each. */
export class MemoryLeases {
  private readonly leases = new Map<string, { ttlMs: number; expiresAt: number; keys: Set<string> }>();
  private readonly leaseOfKey = new Map<string, string>();
  private nextId = 1;

  grant(ttlMs: number, now: number): string {
    const id = `${this.nextId++}`;
    this.leases.set(id, { ttlMs, expiresAt: now + ttlMs, keys: new Set() });
    return id;
  }

  has(id: string): boolean {
    return this.leases.has(id);
  }

  /** Restarts the lease's time to live; false when it is gone. */
  refresh(id: string, now: number): boolean {
    const lease = this.leases.get(id);
    if (lease) lease.expiresAt = now + lease.ttlMs;
    return lease !== undefined;
  }

  /** Forgets the lease; returns its keys in no particular order (undefined when it was gone). */
  remove(id: string): string[] | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    this.leases.delete(id);
    for (const key of lease.keys) this.leaseOfKey.delete(key);
    return [...lease.keys];
  }

  /** Attaches the key to `id`, or detaches it when undefined. */
  attach(key: string, id: string | undefined): void {
    const old = this.leaseOfKey.get(key);
    if (old !== undefined) this.leases.get(old)?.keys.delete(key);
    this.leaseOfKey.delete(key);
    if (id === undefined) return;
    this.leases.get(id)?.keys.add(key);
    this.leaseOfKey.set(key, id);
  }

  /** The ids of the leases due at `now`, earliest first. */
  due(now: number): string[] {
    return [...this.leases]
      .filter(([, lease]) => lease.expiresAt <= now)
      .sort((a, b) => a[1].expiresAt - b[1].expiresAt)
      .map(([id]) => id);
  }

  earliest(): number | undefined {
    let at: number | undefined;
    for (const lease of this.leases.values())
      if (at === undefined || lease.expiresAt < at) at = lease.expiresAt;
    return at;
  }
}
