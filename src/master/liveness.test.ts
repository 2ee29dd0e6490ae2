import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeAgentTransitions, computeExpiredFrameworks } from './liveness.js';

const timeouts = { agentTimeoutMs: 1000, agentRemovalMs: 5000 };

test('an agent silent past the timeout becomes unreachable; unreachable past the removal time is removed', () => {
  const out = computeAgentTransitions(
    [
      { id: 'fresh', state: 'ACTIVE', lastSeen: 9500 },
      { id: 'silent', state: 'ACTIVE', lastSeen: 9000 },
      { id: 'gone-away', state: 'DISCONNECTED', lastSeen: 1000 },
      { id: 'long-lost', state: 'UNREACHABLE', lastSeen: 0, unreachableSince: 5000 },
      { id: 'recently-lost', state: 'UNREACHABLE', lastSeen: 0, unreachableSince: 6000 },
    ],
    10_000,
    timeouts,
  );
  assert.deepEqual(out.unreachable, ['silent', 'gone-away']);
  assert.deepEqual(out.remove, ['long-lost']);
});

test('frameworks expire only when disconnected longer than their failover timeout', () => {
  assert.deepEqual(
    computeExpiredFrameworks(
      [
        { id: 'connected', failoverTimeoutSeconds: 0 },
        { id: 'no-failover', disconnectedAt: 10_000, failoverTimeoutSeconds: 0 },
        { id: 'within', disconnectedAt: 5000, failoverTimeoutSeconds: 10 },
        { id: 'expired', disconnectedAt: 0, failoverTimeoutSeconds: 10 },
      ],
      10_000,
    ),
    ['no-failover', 'expired'],
  );
});
