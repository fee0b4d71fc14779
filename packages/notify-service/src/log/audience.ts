import type { Principal } from '@marketmesh/shared'

/**
 * The Feathers query condition for what `principal` may see of the log: a buyer their own, a
 * seller their shop's, an admin everything, a device its shop's device notifications (print
 * jobs); everyone the announcements.
 */
export const audienceCondition = (principal: Principal): Record<string, unknown> | undefined => {
  switch (principal.role) {
    case 'admin':
      return undefined
    case 'buyer':
      return { $or: [{ everyone: true }, { userId: principal.id }] }
    case 'seller':
      return { $or: [{ everyone: true }, { userId: principal.id }, { sellerId: principal.sellerId }] }
    case 'device':
      return { $or: [{ everyone: true }, { devices: true, sellerId: principal.sellerId }] }
  }
}

/** The same rule for one row, for notifications pushed live. */
export const canSee = (principal: Principal, row: { userId: string | null; sellerId: string | null; everyone: boolean; devices: boolean }) => {
  if (row.everyone || principal.role === 'admin') return true
  if (principal.role === 'device') return row.devices && row.sellerId === principal.sellerId
  return row.userId === principal.id || (principal.role === 'seller' && row.sellerId === principal.sellerId)
}
