/** SQL about products that the products service and search share; `table` is the products table's name or alias. */

/** The shop name from the sellers read model (null until the seller's `user.*` event has arrived). */
export const shopNameOf = (table: string) => `(SELECT "shopName" FROM sellers WHERE sellers.id = ${table}."sellerId")`

/** Active: not archived by its seller. */
export const isActive = (table: string) => `${table}.status = 'active'`

/**
 * Listed: active, and not of a seller known to be disabled (the condition of the products_listed
 * index). A listed product can be bought: its `available`.
 */
export const isListed = (table: string) => `${isActive(table)} AND NOT ${table}."sellerDisabled"`
