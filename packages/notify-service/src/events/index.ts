import type { ServiceApplication } from '@marketmesh/shared'

/** The handlers of the events this service consumes. */
export const events = (_app: ServiceApplication) => {}
