import type { ServiceApplication } from '@marketmesh/shared'
import { cloudprnt } from '../cloudprnt/cloudprnt'
import { userPresence } from '../conversations/presence'
import { livePage } from '../live/live'
import { notificationPurge } from '../log/purge'
import { printJobMetrics } from '../printing/metrics'
import { printerPresence } from '../printing/presence'
import { stream } from '../stream/stream'
import { announcement } from './announcements/announcements'
import { conversationMessage } from './conversation-messages/conversation-messages'
import { conversation } from './conversations/conversations'
import { notification } from './notifications/notifications'
import { printJob } from './print-jobs/print-jobs'
import { printer } from './printers/printers'
import { webhookEndpoint } from './webhook-endpoints/webhook-endpoints'

export const services = (app: ServiceApplication) => {
  app.configure(notification)
  app.configure(notificationPurge)
  app.configure(announcement)
  app.configure(printJob)
  app.configure(printer)
  app.configure(printerPresence)
  app.configure(printJobMetrics)
  app.configure(conversation)
  app.configure(conversationMessage)
  app.configure(userPresence)
  app.configure(stream)
  app.configure(cloudprnt)
  app.configure(livePage)
  app.configure(webhookEndpoint)
}
