import type { ServiceApplication } from '@marketmesh/shared'

export const services = (_app: ServiceApplication) => {}
