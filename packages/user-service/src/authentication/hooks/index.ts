export * from './limit-failed-logins'
export * from './record-last-login'
