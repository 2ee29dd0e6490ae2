import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResources } from '../../core/resources.js';
import { computeOfferRound } from './offer-placement.js';
import { serviceSpec } from './test-support.js';

test('services share one round of offers: each places on what the previous ones left', () => {
  const offers = ['a', 'b'].map((id) => ({
    id: `offer-${id}`,
    agentId: `agent-${id}`,
    hostname: `host-${id}`,
    attributes: {},
    resources: parseResources('cpus:2;mem:1024;ports:[31000-31009]'),
  }));
  const big = serviceSpec({ id: '/big', resources: { cpus: 1.5, mem: 100 } });
  const small = serviceSpec({ id: '/small', resources: { cpus: 1, mem: 100, ports: 1 } });
  const round = computeOfferRound(
    [
      { serviceId: '/big', spec: big, pending: ['b1', 'b2'], existing: [] },
      { serviceId: '/small', spec: small, pending: ['s1', 's2'], existing: [] },
    ],
    offers,
  );
  assert.deepEqual(
    round.placed.map((p) => p.instance),
    ['b1', 'b2'],
    'after /big takes 1.5 of 2 cpus on both agents, /small (1 cpu) fits nowhere',
  );
  assert.equal(round.unplaced, 2);
  assert.equal(round.summaries.get('/big'), undefined);
  assert.match(round.summaries.get('/small') ?? '', /2 of 2 instances unplaced: 2 agents lack cpus/);
});
