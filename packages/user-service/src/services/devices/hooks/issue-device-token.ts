import { createDeviceToken } from '@marketmesh/shared'
import type { DeviceHookContext } from '../devices.class'

/** Creates the device's token, which the data resolver stores as a hash and the result resolver shows this once. */
export const issueDeviceToken = (context: DeviceHookContext) => {
  context.params = { ...context.params, deviceToken: createDeviceToken() }
}
