// The paths and the methods callers from outside may use (what a client of the service relies on).
export const webhookEndpointPath = 'webhook-endpoints'
export const webhookEndpointMethods = ['find', 'get', 'create', 'patch', 'remove'] as const

export const webhookSecretRotationPath = 'webhook-endpoints/:endpointId/rotate-secret'
export const webhookTestPath = 'webhook-endpoints/:endpointId/test'
export const webhookDeliveryPath = 'webhook-endpoints/:endpointId/deliveries'
export const webhookDeliveryRetryPath = 'webhook-endpoints/:endpointId/deliveries/:deliveryId/retry'
