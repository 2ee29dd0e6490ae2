/**
 * Blob uploads of the Distribution API: start a session (POST), then send the bytes either in one PUT
 * (monolithic) or, for big blobs, in PATCH chunks with Content-Range and a closing PUT. A cross-repo
 * mount (POST ?mount=&from=) is tried first when another repository of the registry has the blob.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ContentStore } from '../content-store.js';
import type { Descriptor } from '../oci.js';
import { RegistryRequestError } from './errors.js';
import { countBytes } from './progress.js';
import { headerOf, type RegistryClient } from './registry-client.js';

export interface ChunkPolicy {
  /** Blobs larger than this go in chunks (default 64 MiB). */
  threshold: number;
  /** The size of each chunk (default 32 MiB). */
  size: number;
}

export const DEFAULT_CHUNKS: ChunkPolicy = { threshold: 64 * 1024 * 1024, size: 32 * 1024 * 1024 };

/** Whether the blob is in the repository already (HEAD). */
export async function blobExists(client: RegistryClient, name: string, digest: string): Promise<boolean> {
  const res = await client.send('HEAD', `/v2/${name}/blobs/${digest}`);
  await res.body.dump();
  if (res.statusCode === 200) return true;
  if (res.statusCode === 404) return false;
  throw await client.failure(res, `HEAD blob ${digest}`);
}

/**
 * Asks the registry to mount the blob from another repository. Returns 'mounted', or the upload
 * location the registry opened instead (it may not allow the mount), or undefined when it refused.
 */
export async function tryMount(
  client: RegistryClient,
  name: string,
  digest: string,
  from: string,
): Promise<'mounted' | { location: string } | undefined> {
  const query = new URLSearchParams({ mount: digest, from }).toString();
  const res = await client.send('POST', `/v2/${name}/blobs/uploads/?${query}`);
  await res.body.dump();
  const location = headerOf(res, 'location');
  if (res.statusCode === 201) return 'mounted';
  if (res.statusCode === 202 && location) return { location };
  return undefined;
}

/** Opens an upload session; returns its location. */
export async function startUpload(client: RegistryClient, name: string): Promise<string> {
  const res = await client.expect('POST', `/v2/${name}/blobs/uploads/`, [202], `start upload to ${name}`);
  await res.body.dump();
  const location = headerOf(res, 'location');
  if (!location)
    throw new RegistryRequestError(`start upload to ${name}`, 202, 'no Location header in the answer');
  return location;
}

/** Sends the blob's bytes to an open session and closes it with the digest. */
export async function uploadBlob(
  client: RegistryClient,
  content: ContentStore,
  location: string,
  blob: Descriptor,
  options: { chunks: ChunkPolicy; onBytes: (count: number) => void },
): Promise<void> {
  const what = `upload of ${blob.digest}`;
  if (blob.size <= options.chunks.threshold) {
    const res = await client.expect('PUT', withDigest(client.url(location), blob.digest), [201], what, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      body: () =>
        Readable.from(
          countBytes(content.createReadStream(blob.digest), {
            limit: blob.size,
            onBytes: options.onBytes,
            onOverflow: () =>
              new RegistryRequestError(what, 0, `the local blob is larger than ${blob.size} bytes`),
          }),
        ),
    });
    await res.body.dump();
    return;
  }
  let url = client.url(location);
  const step = Math.max(1, options.chunks.size);
  for (let start = 0; start < blob.size; start += step) {
    const end = Math.min(start + step, blob.size) - 1;
    const res = await client.expect('PATCH', url, [202], what, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${start}-${end}`,
        'content-length': String(end - start + 1),
      },
      body: () => createReadStream(content.path(blob.digest), { start, end }),
    });
    await res.body.dump();
    const next = headerOf(res, 'location');
    if (next) url = client.url(next);
    options.onBytes(end + 1);
  }
  const res = await client.expect('PUT', withDigest(url, blob.digest), [201], what, {
    headers: { 'content-length': '0' },
  });
  await res.body.dump();
}

function withDigest(url: URL, digest: string): URL {
  const out = new URL(url);
  out.searchParams.set('digest', digest);
  return out;
}
