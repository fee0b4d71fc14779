import { Gauge } from 'prom-client'
import type { ServiceApplication } from '@marketmesh/shared'

const OPEN = ['queued', 'printing'] as const

/** `print_jobs{status}`: the jobs waiting for a printer and those claimed and not yet confirmed, read at each scrape. */
export const printJobMetrics = (app: ServiceApplication) => {
  const db = app.get('postgresqlClient')
  new Gauge({
    name: 'print_jobs',
    help: 'Print jobs queued (waiting for a printer of their shop) and printing (claimed, not yet confirmed)',
    labelNames: ['status'],
    registers: [app.get('metrics')],
    async collect() {
      const rows: Array<{ status: string; count: string }> = await db('print_jobs')
        .whereIn('status', [...OPEN])
        .groupBy('status')
        .select('status')
        .count({ count: '*' })
      for (const status of OPEN) this.set({ status }, Number(rows.find((row) => row.status === status)?.count ?? 0))
    }
  })
}
