export * from './issue-device-token'
export * from './only-own-active-devices'
