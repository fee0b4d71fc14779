import type { ServiceApplication } from '@marketmesh/shared'
import { jobFromRow, PRINT_JOB, printJobMessage } from '../printing/print-job'
import { frameOf } from './frame'
import type { StreamClient } from './stream-client'

// The oldest ones; a stream that opens with more waiting gets the rest as it reconnects, and its
// bound (stream.maxBufferedBytes) is not blown by a backlog of receipts.
const AT_MOST = 100

/**
 * What a device's stream sends on open, before its replay: the shop's queued jobs whose `print.job`
 * the device has seen go by (up to `upTo`, which is past whatever was purged from the log), without
 * an id (they do not move its Last-Event-ID). Later ones come with their id in the replay or live. A device that was
 * offline, crashed before claiming, or never connected before thus gets every job still waiting.
 */
export const sendQueuedPrintJobs = async (app: ServiceApplication, client: StreamClient, upTo: number) => {
  const { principal } = client
  if (principal.role !== 'device') return
  const rows = await app
    .get('postgresqlClient')('print_jobs')
    .where({ sellerId: principal.sellerId, status: 'queued' })
    .where('notificationId', '<=', upTo)
    .orderBy('createdAt')
    .limit(AT_MOST)
  for (const row of rows) client.send(frameOf({ type: PRINT_JOB, data: printJobMessage(jobFromRow(row)) }))
}
