import { Gauge } from 'prom-client'
import type { ServiceApplication } from '@marketmesh/shared'
import type { PrintJobStatus } from './print-job'

/** Waiting for a printer, claimed and not yet confirmed, or claimed and never confirmed in time (an alert: a receipt may be missing). */
const WATCHED = ['queued', 'printing', 'unconfirmed'] as const satisfies readonly PrintJobStatus[]

/** `print_jobs{status}`: the jobs queued, printing and unconfirmed, read at each scrape. */
export const printJobMetrics = (app: ServiceApplication) => {
  const db = app.get('postgresqlClient')
  new Gauge({
    name: 'print_jobs',
    help: 'Print jobs queued (waiting for a printer of their shop), printing (claimed, not yet confirmed) and unconfirmed (claimed, never confirmed in time)',
    labelNames: ['status'],
    registers: [app.get('metrics')],
    async collect() {
      let rows: Array<{ status: string; count: string }>
      try {
        rows = await db('print_jobs')
          .whereIn('status', [...WATCHED])
          .groupBy('status')
          .select('status')
          .count({ count: '*' })
      } catch {
        // An unreachable database shows in /ready; the scrape still answers, with the last counts.
        return
      }
      for (const status of WATCHED) this.set({ status }, Number(rows.find((row) => row.status === status)?.count ?? 0))
    }
  })
}
