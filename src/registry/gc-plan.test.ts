import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { computeGcPlan } from './gc-plan.js';
import type { MetadataSnapshot } from './metadata.js';

const HOUR = 3_600_000;
const empty: MetadataSnapshot = { blobs: [], links: [], manifests: [], refs: [], uploads: [] };

test('fresh unreferenced links and blobs survive; old ones go', () => {
  const now = 10 * HOUR;
  const snapshot: MetadataSnapshot = {
    ...empty,
    blobs: [
      { digest: 'fresh', touchedAt: now - 1000 },
      { digest: 'old', touchedAt: now - 2 * HOUR },
      { digest: 'used', touchedAt: 0 },
      { digest: 'manifest', touchedAt: 0 },
    ],
    links: [
      { repo: 'a', digest: 'fresh', linkedAt: now - 1000 },
      { repo: 'a', digest: 'old', linkedAt: now - 2 * HOUR },
      { repo: 'a', digest: 'used', linkedAt: 0 },
    ],
    manifests: [{ repo: 'a', digest: 'manifest' }],
    refs: [{ repo: 'a', child: 'used' }],
    uploads: [
      { id: 'u-old', updatedAt: 0 },
      { id: 'u-new', updatedAt: now },
      { id: 'u-busy', updatedAt: 0 },
    ],
  };
  const plan = computeGcPlan(snapshot, { now, graceMs: HOUR, busyUploads: new Set(['u-busy']) });
  assert.deepEqual(plan.links, [{ repo: 'a', digest: 'old' }]);
  assert.deepEqual(plan.blobs, ['old']);
  assert.deepEqual(plan.uploads, ['u-old']);
});

test('a blob linked into another repository stays when one repository drops it', () => {
  const snapshot: MetadataSnapshot = {
    ...empty,
    blobs: [{ digest: 'x', touchedAt: 0 }],
    links: [
      { repo: 'a', digest: 'x', linkedAt: 0 },
      { repo: 'b', digest: 'x', linkedAt: 0 },
    ],
    refs: [{ repo: 'b', child: 'x' }],
  };
  const plan = computeGcPlan(snapshot, { now: 2 * HOUR, graceMs: HOUR });
  assert.deepEqual(plan.links, [{ repo: 'a', digest: 'x' }]);
  assert.deepEqual(plan.blobs, []);
});

test('property: nothing referenced, nothing a manifest and nothing fresh is ever collected', () => {
  const digest = fc.constantFrom('d1', 'd2', 'd3', 'd4', 'd5');
  const repo = fc.constantFrom('a', 'b');
  const time = fc.nat(10 * HOUR);
  fc.assert(
    fc.property(
      fc.record({
        blobs: fc.uniqueArray(fc.record({ digest, touchedAt: time }), { selector: (b) => b.digest }),
        links: fc.uniqueArray(fc.record({ repo, digest, linkedAt: time }), {
          selector: (l) => `${l.repo}/${l.digest}`,
        }),
        manifests: fc.array(fc.record({ repo, digest })),
        refs: fc.array(fc.record({ repo, child: digest })),
        uploads: fc.array(fc.record({ id: fc.string(), updatedAt: time })),
      }),
      time,
      (snapshot, graceMs) => {
        const now = 10 * HOUR;
        const plan = computeGcPlan(snapshot, { now, graceMs });
        const cutoff = now - graceMs;
        for (const d of plan.blobs) {
          assert.ok(!snapshot.manifests.some((m) => m.digest === d));
          assert.ok(!snapshot.refs.some((r) => r.child === d));
          assert.ok(snapshot.blobs.filter((b) => b.digest === d).every((b) => b.touchedAt < cutoff));
          const kept = snapshot.links.filter(
            (l) => l.digest === d && !plan.links.some((p) => p.repo === l.repo && p.digest === d),
          );
          assert.equal(kept.length, 0);
        }
        for (const l of plan.links) {
          assert.ok(!snapshot.refs.some((r) => r.repo === l.repo && r.child === l.digest));
          assert.ok(
            snapshot.links.some((x) => x.repo === l.repo && x.digest === l.digest && x.linkedAt < cutoff),
          );
        }
        for (const u of plan.uploads)
          assert.ok(snapshot.uploads.some((x) => x.id === u && x.updatedAt < cutoff));
      },
    ),
  );
});
