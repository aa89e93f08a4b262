import { runProcess } from '../src/runtime/worker-process.js';

await runProcess(['api']);
