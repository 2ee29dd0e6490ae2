/**
 * The per-member circuit breaker for the etcd client. etcd3's own breaker keeps a member that failed 3
 * calls in a row out for 5 s; after an etcd restart that is most of the time the masters need to get
 * going again. This one does the same with a shorter pause (default 1 s), and lets one call through after
 * it: a success closes the circuit, a failure opens it again at once. Only `execute` is used by etcd3.
 */
import { isRecoverableError, type IOptions } from 'etcd3';

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/** Thrown without calling etcd while the member's circuit is open; etcd3 then tries the next member. */
class BrokenCircuitError extends Error {
  readonly isBrokenCircuitError = true;
  constructor(host: string) {
    super(`etcd member ${host} failed repeatedly; trying it again shortly`);
  }
}

export class EtcdHostBreaker {
  private failures = 0;
  private openUntil = 0;

  constructor(
    private readonly host: string,
    private readonly pauseMs: number,
    private readonly threshold = 3,
  ) {}

  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> {
    if (Date.now() < this.openUntil) throw new BrokenCircuitError(this.host);
    try {
      const result = await fn({ signal: new AbortController().signal });
      this.failures = 0;
      return result;
    } catch (err) {
      if (err instanceof Error && isRecoverableError(err) && ++this.failures >= this.threshold) {
        this.openUntil = Date.now() + this.pauseMs;
        this.failures = this.threshold - 1; // half open: the next failure opens it again
      }
      throw err;
    }
  }
}

/** etcd3's `faultHandling.host`: one breaker per member. */
export function hostBreakers(pauseMs: number): (host: string) => HostPolicy {
  return (host) => new EtcdHostBreaker(host, pauseMs) as unknown as HostPolicy;
}
