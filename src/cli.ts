#!/usr/bin/env node
import { main } from './cli/main.js';

// `start` keeps the process alive through its open servers and connections; every other command ends here.
process.exitCode = await main(process.argv.slice(2));
