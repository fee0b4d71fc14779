import { Gauge } from 'prom-client'
import type { ServiceApplication } from '@marketmesh/shared'
import type { PrintJobStatus } from './print-job'

const OPEN = ['queued', 'printing'] as const satisfies readonly PrintJobStatus[]

/** `print_jobs{status}`: the jobs waiting for a printer and those claimed and not yet confirmed, read at each scrape. */
export const printJobMetrics = (app: ServiceApplication) => {
  const db = app.get('postgresqlClient')
  new Gauge({
    name: 'print_jobs',
    help: 'Print jobs queued (waiting for a printer of their shop) and printing (claimed, not yet confirmed)',
    labelNames: ['status'],
    registers: [app.get('metrics')],
    async collect() {
      let rows: Array<{ status: string; count: string }>
      try {
        rows = await db('print_jobs')
          .whereIn('status', [...OPEN])
          .groupBy('status')
          .select('status')
          .count({ count: '*' })
      } catch {
        // An unreachable database shows in /ready; the scrape still answers, with the last counts.
        return
      }
      for (const status of OPEN) this.set({ status }, Number(rows.find((row) => row.status === status)?.count ?? 0))
    }
  })
}
