import { runWorkerProcess } from '../src/runtime/worker-process.js';

await runWorkerProcess(['twin24-correlator']);
