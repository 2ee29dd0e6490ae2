import { runStoreConformance } from '../conformance.js';
import { MemoryStore } from './memory-store.js';

runStoreConformance('memory', async (options) => new MemoryStore({ clock: options?.clock }), {
  fakeClock: true,
});
