// Importable on its own as `@marketmesh/shared/receipts`: a printer agent needs no server code.
export * from './receipt.schema'
export * from './layout'
export * from './printer'
export * from './text'
export { formatMoney } from '../money'
export { printableLine } from '../free-text'
