export * from './limit-password-reset-requests'
