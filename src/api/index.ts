export * from './recordio.js';
export * from './mesos.js';
export * from './scheduler.js';
export * from './agent.js';
export * from './operator.js';
