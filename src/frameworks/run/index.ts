export * from './run-framework.js';
export * from './http.js';
export * from './types.js';
export * from './errors.js';
