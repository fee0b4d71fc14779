import type { ServiceApplication } from '@marketmesh/shared'
import { purgedThrough } from '../log/purge'
import type { NotificationParams } from '../services/notifications/notifications.class'
import { frameOf } from './frame'
import type { StreamClient } from './stream-client'

const PAGE = 500

/**
 * What the caller missed after `after`, in id order, then `resync` instead when part of it is no
 * longer kept. `position` is where the live frames the client collects meanwhile begin.
 */
export const replay = async (app: ServiceApplication, client: StreamClient, after: number, position: number) => {
  if (after < (await purgedThrough(app.get('postgresqlClient')))) {
    client.send(frameOf({ id: position, type: 'resync', data: { reason: 'The notifications after your last id are no longer kept: load the current state again.' } }))
    return
  }
  for (let cursor = after; ; ) {
    const params: NotificationParams & { paginate: false } = {
      query: { id: { $gt: cursor }, $sort: { id: 1 }, $limit: PAGE },
      principal: client.principal,
      paginate: false
    }
    const page = await app.service('notifications').find(params)
    for (const notification of page) client.send(frameOf(notification))
    if (page.length < PAGE) return
    cursor = page[page.length - 1].id
  }
}
