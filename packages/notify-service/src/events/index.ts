import { deviceCredentialHandlers, type ServiceApplication } from '@marketmesh/shared'
import { notifyOrder, ORDER_EVENTS } from './notify-order'
import { notifyUser } from './notify-user'

/** The handlers of the events this service consumes (its line of EVENT_CONSUMERS). */
export const events = (app: ServiceApplication) => {
  const bus = app.get('events')
  deviceCredentialHandlers(bus)
  bus.on('user.registered', notifyUser).on('user.updated', notifyUser)
  for (const type of ORDER_EVENTS) bus.on(type, notifyOrder)
}
