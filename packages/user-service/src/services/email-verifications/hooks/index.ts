export * from './limit-verification-requests'
