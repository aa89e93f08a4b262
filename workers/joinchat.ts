import { runWorkerProcess } from '../src/app/worker-process.js';

await runWorkerProcess(['joinchat']);
