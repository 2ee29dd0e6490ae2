import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { GRPCUnavailableError } from 'etcd3';
import { EtcdHostBreaker } from './etcd-breaker.js';

const down = () => Promise.reject(new GRPCUnavailableError('connect ECONNREFUSED'));
const up = () => Promise.resolve('ok');
const broken = (err: unknown) => (err as { isBrokenCircuitError?: boolean }).isBrokenCircuitError === true;

test('a member that fails 3 times is left out for the pause, then tried once, and closed on success', async () => {
  const breaker = new EtcdHostBreaker('m1', 100);
  for (let i = 0; i < 3; i++) await assert.rejects(breaker.execute(down), GRPCUnavailableError);
  let called = false;
  await assert.rejects(
    breaker.execute(() => {
      called = true;
      return up();
    }),
    broken,
  );
  assert.equal(called, false, 'an open circuit does not call etcd');
  await sleep(120);
  await assert.rejects(breaker.execute(down), GRPCUnavailableError);
  await assert.rejects(breaker.execute(up), broken, 'one failure after the pause opens it again');
  await sleep(120);
  assert.equal(await breaker.execute(up), 'ok');
  await assert.rejects(breaker.execute(down), GRPCUnavailableError);
  assert.equal(await breaker.execute(up), 'ok', 'closed again: one failure does not open it');
});

test('errors that are not about the member (a failed condition) never open the circuit', async () => {
  const breaker = new EtcdHostBreaker('m1', 10_000);
  for (let i = 0; i < 5; i++) await assert.rejects(breaker.execute(() => Promise.reject(new Error('bad'))));
  assert.equal(await breaker.execute(up), 'ok');
});
