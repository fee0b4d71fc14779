// Importable on its own: a printer agent needs no server code.
export * from './receipt.schema'
export * from './layout'
export * from './printer'
export * from './text'
export { formatMoney } from '@marketmesh/shared/money'
export { printableLine } from '@marketmesh/shared/free-text'
