export * from './require-verified-email'
