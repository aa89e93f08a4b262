import { runWorkerProcess } from '../src/runtime/worker-process.js';

await runWorkerProcess(['results-webhook']);
