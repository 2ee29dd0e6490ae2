import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeExitStatus, parseExitFile } from './exit-status.js';
import { computeLastRuncError } from './runc-log.js';

test('exit codes up to 128 are exit codes', () => {
  assert.deepEqual(computeExitStatus(0, 5), { exitCode: 0, signal: null, finishedAt: 5 });
  assert.deepEqual(computeExitStatus(3, 5), { exitCode: 3, signal: null, finishedAt: 5 });
  assert.deepEqual(computeExitStatus(128, 5), { exitCode: 128, signal: null, finishedAt: 5 });
});

test('128+N is "killed by signal N"', () => {
  assert.deepEqual(computeExitStatus(143, 5), { exitCode: null, signal: 'SIGTERM', finishedAt: 5 });
  assert.deepEqual(computeExitStatus(137, 5), { exitCode: null, signal: 'SIGKILL', finishedAt: 5 });
  assert.deepEqual(computeExitStatus(130, 5), { exitCode: null, signal: 'SIGINT', finishedAt: 5 });
});

test('a status that names no signal stays an exit code', () => {
  assert.deepEqual(computeExitStatus(255, 5), { exitCode: 255, signal: null, finishedAt: 5 });
});

test('parseExitFile accepts a number and a newline only', () => {
  assert.equal(parseExitFile('0\n'), 0);
  assert.equal(parseExitFile('137\n'), 137);
  assert.equal(parseExitFile(''), undefined);
  assert.equal(parseExitFile('13'), undefined, 'a line still being written');
  assert.equal(parseExitFile('x1'), undefined);
});

test('computeLastRuncError takes the last error line of a JSON log', () => {
  const log = [
    '{"level":"info","msg":"starting","time":"t"}',
    '{"level":"error","msg":"first problem","time":"t"}',
    'garbage that is not json',
    '{"level":"error","msg":"runc run failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH","time":"t"}',
    '{"level":"warning","msg":"later warning","time":"t"}',
  ].join('\n');
  assert.equal(
    computeLastRuncError(log),
    'runc run failed: unable to start container process: exec: "nope": executable file not found in $PATH',
  );
  assert.equal(computeLastRuncError('{"level":"info","msg":"ok"}\n'), undefined);
  assert.equal(computeLastRuncError('{"level":"error","msg":"two\\nlines"}'), 'two lines');
});
