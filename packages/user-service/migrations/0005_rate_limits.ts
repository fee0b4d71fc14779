import { rateLimitsTable, type Migration } from '@marketmesh/shared'

/** The rate-limit counters every instance of the service shares (logins, registrations, reset and verification mails). */
export const up: Migration['up'] = rateLimitsTable.up
export const down: Migration['down'] = rateLimitsTable.down
