export * from './limit-webhooks-per-ip'
