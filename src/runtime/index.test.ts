import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLauncher, detectRuntime } from './index.js';
import { runcSkipReason } from './test-support.js';

test('detectRuntime picks runc exactly when root and runc work, else says why', () => {
  const detected = detectRuntime();
  if (process.getuid?.() !== 0) {
    assert.deepEqual(detected, { kind: 'process', reason: 'not running as root' });
  } else if (runcSkipReason() === false) {
    assert.deepEqual(detected, { kind: 'runc' });
  } else {
    assert.equal(detected.kind, 'process');
    assert.match(detected.reason ?? '', /runc not found/);
  }
});

test('createLauncher returns the requested kind', () => {
  assert.equal(createLauncher('runc', { stateRoot: '/tmp/unused' }).kind, 'runc');
  assert.equal(createLauncher('process', { stateRoot: '/tmp/unused' }).kind, 'process');
});
