/**
 * The garbage collector's decision, as a pure function of a metadata snapshot and the time: what is
 * unreferenced and older than the grace window. The window is what makes online GC safe against a push
 * in progress: blobs are uploaded (and linked) before the manifest that references them, so a fresh,
 * unreferenced link is presumed to be waiting for its manifest.
 */
import type { MetadataSnapshot } from './metadata.js';

export interface GcPlan {
  /** Links (repo, blob) that no manifest of the repo references, older than the grace window. */
  links: Array<{ repo: string; digest: string }>;
  /** Blobs neither linked (after the links above go), referenced nor a manifest, older than the window. */
  blobs: string[];
  /** Uploads idle for longer than the window and not busy now. */
  uploads: string[];
}

export interface GcPlanInput {
  now: number;
  graceMs: number;
  /** Uploads with a request under way: never collected, however old. */
  busyUploads?: ReadonlySet<string>;
}

const key = (repo: string, digest: string): string => `${repo}\u0000${digest}`;

export function computeGcPlan(snapshot: MetadataSnapshot, input: GcPlanInput): GcPlan {
  const cutoff = input.now - input.graceMs;
  const referenced = new Set(snapshot.refs.map((r) => key(r.repo, r.child)));
  const links: GcPlan['links'] = [];
  const live = new Set<string>();
  for (const link of snapshot.links) {
    if (link.linkedAt < cutoff && !referenced.has(key(link.repo, link.digest)))
      links.push({ repo: link.repo, digest: link.digest });
    else live.add(link.digest);
  }
  for (const m of snapshot.manifests) live.add(m.digest);
  for (const r of snapshot.refs) live.add(r.child);
  const blobs = snapshot.blobs
    .filter((b) => b.touchedAt < cutoff && !live.has(b.digest))
    .map((b) => b.digest);
  const uploads = snapshot.uploads
    .filter((u) => u.updatedAt < cutoff && !input.busyUploads?.has(u.id))
    .map((u) => u.id);
  return { links, blobs, uploads };
}
