import type { MigrationList } from '@marketmesh/shared'

/** This service's migrations, run in name order after the event backbone's. */
export const migrations: MigrationList = {}
