import { processComponents, runProcess } from '../src/app/worker-process.js';

// Every worker component and the HTTP API in one process (a laptop, a small shop).
await runProcess(processComponents());
