/** Helpers for the registry's tests: a registry on a temp dir and a free port, and push helpers. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { OCI_MANIFEST } from './manifest.js';
import { startRegistry, type RunningRegistry, type StartRegistryOptions } from './server.js';

export interface TestRegistry extends RunningRegistry {
  root: string;
}

/** Starts a registry; `t.after` (or the caller) must call `stop`. */
export async function startTestRegistry(
  options: Partial<StartRegistryOptions> & { clock?: Clock } = {},
): Promise<TestRegistry & { stop(): Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), 'berth-registry-test-'));
  const running = await startRegistry({ root, port: 0, ...options });
  return {
    ...running,
    root,
    async stop() {
      await running.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export const digestOf = (bytes: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export async function pushBlob(url: string, repo: string, bytes: Uint8Array | string): Promise<string> {
  const digest = digestOf(bytes);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: typeof bytes === 'string' ? bytes : Buffer.from(bytes),
  });
  if (res.status !== 201) throw new Error(`push blob: ${res.status} ${await res.text()}`);
  return digest;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export const descriptorOf = (bytes: string, mediaType: string): Descriptor => ({
  mediaType,
  digest: digestOf(bytes),
  size: Buffer.byteLength(bytes),
});

/** An image manifest over pushed blobs: config `{}` plus layers. */
export function imageManifest(
  config: Descriptor,
  layers: Descriptor[],
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers, ...extra });
}

/** Pushes config + layers and returns the manifest text (not pushed). */
export async function pushImageBlobs(url: string, repo: string, layerTexts: string[]): Promise<string> {
  const config = '{"architecture":"amd64","os":"linux"}';
  await pushBlob(url, repo, config);
  for (const l of layerTexts) await pushBlob(url, repo, l);
  return imageManifest(
    descriptorOf(config, 'application/vnd.oci.image.config.v1+json'),
    layerTexts.map((l) => descriptorOf(l, 'application/vnd.oci.image.layer.v1.tar')),
  );
}

export function putManifest(
  url: string,
  repo: string,
  reference: string,
  body: string,
  contentType = OCI_MANIFEST,
): Promise<Response> {
  return fetch(`${url}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': contentType },
    body,
  });
}

/** The OCI error code of an error response. */
export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: Array<{ code: string }> };
  return body.errors?.[0]?.code;
}
