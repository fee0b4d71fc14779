/** SQL about products that the products service and search share; `table` is the products table's name or alias. */

/** The shop name from the sellers read model (null until the seller's `user.*` event has arrived). */
export const shopNameOf = (table: string) => `(SELECT "shopName" FROM sellers WHERE sellers.id = ${table}."sellerId")`

/** Listed: active, and not of a seller known to be disabled (the condition of the products_listed index). */
export const isListed = (table: string) => `${table}.status = 'active' AND NOT ${table}."sellerDisabled"`
