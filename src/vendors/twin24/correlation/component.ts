import type { VendorComponent } from '../../types.js';
import { createCorrelatorWorker } from './worker.js';

/** Twin24's extra process part: the correlator (one job scheduler, any number of replicas). */
export const correlatorComponent: VendorComponent = {
  disabledReason: (config) => (config.vendors.twin24 ? undefined : 'twin24-correlator is disabled: Twin24 has no credentials'),
  start: (deps) => createCorrelatorWorker(deps),
};
