import type { EventHandler } from '@marketmesh/events'
import { endStreamsOnCommit } from '../stream/control'

/** A revoked device's credential no longer lets it in (the kit's read model); its open streams end too, on every instance. */
export const endRevokedDeviceStreams: EventHandler<'device.revoked'> = async ({ data }, { trx }) => {
  await endStreamsOnCommit(trx, { id: data.deviceId, role: 'device' })
}
