import { startTracing } from '@marketmesh/shared/tracing'

// Imported first by index.ts: the instrumentations must be in place before http and pg are loaded.
startTracing('catalog-service')
