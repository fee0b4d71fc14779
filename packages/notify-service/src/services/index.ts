import type { ServiceApplication } from '@marketmesh/shared'
import { livePage } from '../live/live'
import { notificationPurge } from '../log/purge'
import { stream } from '../stream/stream'
import { announcement } from './announcements/announcements'
import { notification } from './notifications/notifications'

export const services = (app: ServiceApplication) => {
  app.configure(notification)
  app.configure(notificationPurge)
  app.configure(announcement)
  app.configure(stream)
  app.configure(livePage)
}
