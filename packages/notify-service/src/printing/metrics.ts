import { statusCountGauge, type ServiceApplication } from '@marketmesh/shared'
import type { PrintJobStatus } from './print-job'

/** Waiting for a printer, claimed and not yet confirmed, or claimed and never confirmed in time (an alert: a receipt may be missing). */
const WATCHED = ['queued', 'printing', 'unconfirmed'] as const satisfies readonly PrintJobStatus[]

/** `print_jobs{status}`: the jobs queued, printing and unconfirmed, read at each scrape. */
export const printJobMetrics = (app: ServiceApplication) =>
  void statusCountGauge(app, {
    name: 'print_jobs',
    help: 'Print jobs queued (waiting for a printer of their shop), printing (claimed, not yet confirmed) and unconfirmed (claimed, never confirmed in time)',
    table: 'print_jobs',
    statuses: WATCHED
  })
