import { feathers, type Application, type TransportConnection } from '@feathersjs/feathers'
import { announcementClient } from './services/announcements/announcements.shared'
import { notificationClient } from './services/notifications/notifications.shared'
import { printJobClient } from './services/print-jobs/print-jobs.shared'
import { printerClient } from './services/printers/printers.shared'

export type { Announcement, AnnouncementData, AnnouncementQuery, AnnouncementClientService } from './services/announcements/announcements.shared'
export type { Notification, NotificationQuery, NotificationClientService } from './services/notifications/notifications.shared'
export type { PrintJob, PrintJobData, PrintJobPatch, PrintJobQuery, PrintJobClientService } from './services/print-jobs/print-jobs.shared'
export type { Printer, PrinterQuery, PrinterClientService } from './services/printers/printers.shared'

export interface Configuration {
  connection: TransportConnection<ServiceTypes>
}

export interface ServiceTypes {}

export type ClientApplication = Application<ServiceTypes, Configuration>

/**
 * The typed client of notify-service's REST API. Authenticate by giving the connection the access token:
 *   createClient(rest(url).fetch(fetch, { headers: { Authorization: `Bearer ${accessToken}` } }))
 */
export const createClient = (connection: TransportConnection<ServiceTypes>) => {
  const client: ClientApplication = feathers()
  client.configure(connection)
  client.set('connection', connection)
  client.configure(notificationClient)
  client.configure(announcementClient)
  client.configure(printJobClient)
  client.configure(printerClient)
  return client
}
