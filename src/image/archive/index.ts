/** `berth save` / `berth load`: OCI image layout archives and docker-archives. */
export { saveImages, computeArchiveIndex } from './save.js';
export { loadArchive, type LoadOptions } from './load.js';
export { registerArchiveRoutes } from './http.js';
export * from './errors.js';
