import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countBytes, mapLimit } from './progress.js';
import { formatProgressLine, shortDigest } from './progress-reporter.js';

const DIGEST = `sha256:${'3f2a9c1b7d4e'.padEnd(64, '0')}`;

describe('progress', () => {
  it('runs at most `limit` at a time and keeps the order of results', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0]);
    assert.equal(peak, 2);
    await assert.rejects(
      mapLimit([1, 2], 4, async (n) => {
        if (n === 2) throw new Error('two');
        return n;
      }),
      /two/,
    );
  });

  it('counts bytes and fails past the limit', async () => {
    async function* source() {
      yield Buffer.from('abc');
      yield Buffer.from('def');
    }
    const seen: number[] = [];
    const chunks: Uint8Array[] = [];
    for await (const c of countBytes(source(), {
      limit: 6,
      intervalMs: 0,
      onBytes: (n) => seen.push(n),
      onOverflow: () => new Error('over'),
    }))
      chunks.push(c);
    assert.deepEqual(seen, [3, 6]);
    assert.equal(Buffer.concat(chunks).toString(), 'abcdef');
    const passed: Uint8Array[] = [];
    await assert.rejects(async () => {
      const limited = countBytes(source(), {
        limit: 5,
        onBytes: () => undefined,
        onOverflow: () => new Error('over'),
      });
      for await (const c of limited) passed.push(c);
    }, /over/);
    assert.equal(passed.length, 1, 'the chunk that goes past the limit is not passed on');
  });

  it('writes one plain line per finished blob', () => {
    const p = { digest: DIGEST, kind: 'layer' as const, current: 0, total: 12_300_000 };
    assert.equal(shortDigest(DIGEST), 'sha256:3f2a9c1b7d4e…');
    assert.equal(
      formatProgressLine('pushing', { ...p, action: 'done' }),
      'pushing sha256:3f2a9c1b7d4e… 12.3MB done',
    );
    assert.equal(
      formatProgressLine('pushing', { ...p, action: 'exists' }),
      'pushing sha256:3f2a9c1b7d4e… 12.3MB exists',
    );
    assert.equal(
      formatProgressLine('pushing', { ...p, action: 'mounted', from: 'team/app' }),
      'pushing sha256:3f2a9c1b7d4e… 12.3MB mounted from team/app',
    );
    assert.equal(formatProgressLine('pulling', { ...p, action: 'pulling' }), undefined);
  });
});
