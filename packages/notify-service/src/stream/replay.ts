import type { ServiceApplication } from '@marketmesh/shared'
import { purgedThrough } from '../log/purge'
import { announcementMessage } from '../services/announcements/announcements.class'
import type { NotificationParams } from '../services/notifications/notifications.class'
import { frameOf } from './frame'
import { sendQueuedPrintJobs } from './queued-print-jobs'
import type { StreamClient } from './stream-client'

const PAGE = 500

/**
 * What a stream sends before it goes live: `resync` when part of what the caller missed is no
 * longer kept; the current announcements the caller has seen go by (without an id, so they do
 * not move its Last-Event-ID), and to a device its shop's queued print jobs likewise; then what it
 * missed after `after`, in id order. `position` is where the live frames it collects meanwhile begin.
 */
export const catchUp = async (app: ServiceApplication, client: StreamClient, after: number | undefined, position: number) => {
  const resync = after !== undefined && after < (await purgedThrough(app.get('postgresqlClient')))
  if (resync) {
    client.send(
      frameOf({
        id: position,
        type: 'resync',
        data: { reason: 'The notifications after your last id are no longer kept: load the current state again.' }
      })
    )
  }
  const seenUpTo = after === undefined || resync ? position : after
  await sendCurrentAnnouncements(app, client, seenUpTo)
  await sendQueuedPrintJobs(app, client, seenUpTo)
  if (after !== undefined && !resync) await replay(app, client, after)
}

const sendCurrentAnnouncements = async (app: ServiceApplication, client: StreamClient, upTo: number) => {
  const current = await app.service('announcements').find({ query: { $limit: 100, $sort: { createdAt: 1 } }, paginate: false })
  for (const announcement of current) {
    // Later ones come with their id, replayed or live.
    if (Number(announcement.notificationId) <= upTo) client.send(frameOf({ type: 'announcement', data: announcementMessage(announcement) }))
  }
}

const replay = async (app: ServiceApplication, client: StreamClient, after: number) => {
  for (let cursor = after; ;) {
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
