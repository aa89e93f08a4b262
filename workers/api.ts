import { runProcess } from '../src/app/worker-process.js';

await runProcess(['api']);
