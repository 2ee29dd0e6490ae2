import type { Extract, Header, Pack } from 'tar-stream';

/** What `pack.entry()` takes: tar-stream does not export the name of this type. */
export type TarHeader = Partial<Header> & Pick<Header, 'name'>;
/** An entry read by `tar.extract()` (a streamx Readable with its header). */
export type TarEntry = Extract extends AsyncIterable<infer E> ? E : never;

/**
 * tar-stream's packer turns a zero mode into its default (0644 or 0755), so the permission bits
 * travel with a file-type bit set; the encoder keeps only the low 12 bits.
 */
export function packMode(mode: number | undefined): number {
  return ((mode ?? 0) & 0o7777) | 0o100000;
}

/** Adds an entry without a body (directory, symlink, hard link, device, fifo). */
export function addEntry(pack: Pack, header: TarHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ ...header, size: 0 }, (err) => (err ? reject(err) : resolve()));
  });
}

/** Adds a file entry whose body is streamed from `body`, with backpressure. */
export function addStreamEntry(
  pack: Pack,
  header: TarHeader,
  body: NodeJS.ReadableStream | TarEntry,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    const source = body as NodeJS.ReadableStream; // node and streamx streams pipe into each other
    source.on('error', (err: Error) => {
      entry.destroy(err);
      reject(err);
    });
    source.pipe(entry as unknown as NodeJS.WritableStream);
  });
}

/** tar-stream's extractor as a destination for node's `pipeline` (it is a streamx Writable). */
export function asNodeWritable(extract: Extract): NodeJS.WritableStream {
  return extract as unknown as NodeJS.WritableStream;
}

/** The first bytes of a gzip stream. */
export function isGzipMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
