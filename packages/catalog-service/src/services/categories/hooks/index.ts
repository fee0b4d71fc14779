export * from './drop-categories'
export * from './refuse-removing-used'
export * from './require-known-parent'
