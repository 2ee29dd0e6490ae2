export * from './master.js';
export * from './http.js';
export * from './local-links.js';
export * from './types.js';
export * from './errors.js';
