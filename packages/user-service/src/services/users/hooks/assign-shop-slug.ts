import { invalidField } from '@marketmesh/shared'
import type { User, UserHookContext } from '../users.class'
import { dataOf } from './data-of'

const slugify = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60) || 'shop'

/**
 * A seller's shop gets a URL slug from its name once: renaming the shop later keeps its links.
 * A slug already taken gets a random suffix; a race between two is caught by the unique index (409).
 */
export const assignShopSlug = async (context: UserHookContext) => {
  const { service, params } = context
  const data = dataOf(context)
  if (!data || (data.role === undefined && data.shopName === undefined)) return
  const current: User | undefined = context.method === 'patch' ? await service._get(context.id!, { transaction: params.transaction }) : undefined
  const role = data.role ?? current?.role
  const shopName = data.shopName ?? current?.shopName
  if (role !== 'seller' || current?.shopSlug) return
  if (!shopName) throw invalidField('shopName', 'is required for a seller')
  const base = slugify(shopName)
  const taken = await service.db(params).first('id').where({ shopSlug: base })
  context.data = { ...data, shopSlug: taken ? `${base}-${Math.random().toString(36).slice(2, 8)}` : base }
}
