import type { Knex } from '@marketmesh/shared'

/**
 * First key of the advisory lock on one seller (the second is a hash of the seller's id). A
 * product insert holds it shared while it reads the seller's disabled flag, and the sellers
 * handler exclusively while it changes the flag: so the handler's update of the seller's products
 * also reaches a product whose insert had not committed when the handler started.
 */
export const SELLER_LOCK = 0x73656c6c

export const lockSellerExclusively = (trx: Knex.Transaction, sellerId: string) =>
  trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [SELLER_LOCK, sellerId])
