/**
 * Pure decisions about who is still there: agents that stopped heartbeating become unreachable, and
 * after a longer wait are removed; frameworks that stay away longer than their failover timeout are torn
 * down. The master applies what these return.
 */
export interface AgentLiveness {
  id: string;
  state: 'ACTIVE' | 'DISCONNECTED' | 'UNREACHABLE';
  /** Last time the agent was heard from (subscribe, heartbeat, update). */
  lastSeen: number;
  unreachableSince?: number;
}

export interface LivenessTimeouts {
  /** No word from an agent for this long: it is unreachable (Mesos: 5 pings of 15 s). */
  agentTimeoutMs: number;
  /** Unreachable for this long: the agent is removed and its tasks are GONE. */
  agentRemovalMs: number;
}

export function computeAgentTransitions(
  agents: readonly AgentLiveness[],
  now: number,
  timeouts: LivenessTimeouts,
): { unreachable: string[]; remove: string[] } {
  const unreachable: string[] = [];
  const remove: string[] = [];
  for (const a of agents) {
    if (a.state !== 'UNREACHABLE' && now - a.lastSeen >= timeouts.agentTimeoutMs) unreachable.push(a.id);
    else if (a.state === 'UNREACHABLE' && now - (a.unreachableSince ?? now) >= timeouts.agentRemovalMs)
      remove.push(a.id);
  }
  return { unreachable, remove };
}

export interface FrameworkLiveness {
  id: string;
  /** When its subscription went away; undefined while connected. */
  disconnectedAt?: number;
  /** `framework_info.failover_timeout`, in seconds (Mesos's default is 0: no failover). */
  failoverTimeoutSeconds: number;
}

/** Frameworks whose failover timeout has run out: their tasks are killed and they are removed. */
export function computeExpiredFrameworks(frameworks: readonly FrameworkLiveness[], now: number): string[] {
  return frameworks
    .filter(
      (f) => f.disconnectedAt !== undefined && now - f.disconnectedAt >= f.failoverTimeoutSeconds * 1000,
    )
    .map((f) => f.id);
}
