import { runWorkerProcess } from '../src/app/worker-process.js';

// Transactional outbox relay: committed rows of the monolith's outbox table → the orders queue (docs/outbox.md).
await runWorkerProcess(['outbox-relay']);
