import type { Paginated, Params } from '@feathersjs/feathers'
import { NotAuthenticated } from '@feathersjs/errors'
import { durationMs, type ServiceApplication } from '@marketmesh/shared'
import type { Printer, PrinterQuery } from './printers.schema'

export type { Printer, PrinterQuery }

/**
 * A shop's devices (the `device.*` read model, registered and not revoked) with their presence:
 * online while a stream of theirs is open on some instance (each refreshes `lastSeenAt` of its
 * streams' devices) or while they poll CloudPRNT.
 */
export class PrinterService {
  constructor(private readonly app: ServiceApplication) {}

  async find(params: Params<PrinterQuery> = {}): Promise<Paginated<Printer>> {
    const sellerId = params.principal?.sellerId
    if (!sellerId) throw new NotAuthenticated('Not authenticated as a seller')
    const db = this.app.get('postgresqlClient')
    const paginate = this.app.get('paginate')
    const limit = Math.min(params.query?.$limit ?? paginate.default, paginate.max)
    const skip = params.query?.$skip ?? 0
    const devices = db('device_credentials as d')
      .leftJoin('printer_presence as p', 'p.deviceId', 'd.id')
      .where('d.seller_id', sellerId)
      .whereNull('d.revoked_at')
      .whereNotNull('d.name')
    const [{ total }] = await devices.clone().count({ total: '*' })
    const rows = await devices
      .select(
        'd.id',
        'd.name',
        'p.transport',
        db.raw('greatest(p."lastSeenAt", d.last_seen_at) AS "lastSeenAt"'),
        db.raw(
          `coalesce(p."lastSeenAt" > now() - make_interval(secs => ?::float / 1000)
             AND (p."streamClosedAt" IS NULL OR p."streamClosedAt" < p."lastSeenAt"), false) AS online`,
          [durationMs(this.app.get('printing').onlineWindow)]
        )
      )
      .orderBy([{ column: 'd.registered_at' }, { column: 'd.id' }])
      .limit(limit)
      .offset(skip)
    const data = rows.map((row) => ({
      ...row,
      lastSeenAt: row.lastSeenAt ? new Date(row.lastSeenAt).toISOString() : null,
      transport: row.transport ?? null
    }))
    return { total: Number(total), limit, skip, data }
  }
}
