export * from './transport.js';
export * from './http-transport.js';
export * from './scheduler-client.js';
export * from './http-errors.js';
export * from './stream-client.js';
