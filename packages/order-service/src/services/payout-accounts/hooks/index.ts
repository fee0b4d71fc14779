export * from './limit-account-requests'
