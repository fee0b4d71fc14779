import { rateLimitsTable, type Migration } from '@marketmesh/shared'

/** The kit's rate-limit counters every instance shares: payout account requests per seller, provider webhooks per source IP. */
export const up: Migration['up'] = rateLimitsTable.up
export const down: Migration['down'] = rateLimitsTable.down
