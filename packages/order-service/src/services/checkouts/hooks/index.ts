export * from './require-verified-email'
export * from './await-payment-answer'
