import type { Knex } from '@marketmesh/shared'

/** Whether the users read model (`user.*`, newest version) holds `userId` as disabled; a user not heard of yet is not. */
export const isDisabledUser = async (db: Knex, userId: string) => (await db('users').first('status').where({ id: userId }))?.status === 'disabled'
