import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { queryValidator } from '@marketmesh/shared'
import { payoutStatuses } from '../../payouts/payout'

const Amount = Type.Integer()

export const ledgerViewSchema = Type.Object(
  {
    /** A seller's: per currency, held in escrow, available (released, owed to them, not yet paid out) and paid out. */
    balances: Type.Optional(Type.Array(Type.Object({ currency: Type.String(), held: Amount, available: Amount, paidOut: Amount }))),
    /** A seller's: their newest orders with money in the ledger, what each brings them and its payout. */
    orders: Type.Optional(
      Type.Array(
        Type.Object({
          orderId: Type.String(),
          currency: Type.String(),
          status: Type.String(),
          /** What the buyer paid. */
          gross: Amount,
          /** The platform's share kept at release (less what refunds after it gave back). */
          commission: Amount,
          /** Paid back to the buyer. */
          refunds: Amount,
          /** gross − commission − refunds. */
          net: Amount,
          /** The newest payout's status; null before the escrow is released. */
          payoutStatus: Type.Union([StringEnum([...payoutStatuses]), Type.Null()])
        })
      )
    ),
    /** A seller's: the newest entries of their orders' escrow and of their account (debit +, credit −). */
    entries: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.Integer(),
          orderId: Type.String(),
          kind: Type.String(),
          account: Type.String(),
          amount: Amount,
          currency: Type.String(),
          createdAt: Type.String({ format: 'date-time' })
        })
      )
    ),
    /** An admin's: every account's balance per currency. */
    accounts: Type.Optional(Type.Array(Type.Object({ account: Type.String(), currency: Type.String(), balance: Amount }))),
    /** An admin's: the sum of every account per currency, zero while the books are right. */
    trialBalance: Type.Optional(Type.Array(Type.Object({ currency: Type.String(), balance: Amount }))),
    /** An admin's `view=commission`: the platform's commission earned per period (UTC day or month), newest first. */
    commission: Type.Optional(Type.Array(Type.Object({ period: Type.String(), currency: Type.String(), amount: Amount })))
  },
  { $id: 'LedgerView', additionalProperties: false }
)
export type LedgerView = Static<typeof ledgerViewSchema>

export const ledgerQuerySchema = Type.Object(
  {
    /** `commission` (admins): the commission earned per `period` instead of the balances. */
    view: Type.Optional(StringEnum(['commission'])),
    period: Type.Optional(StringEnum(['day', 'month']))
  },
  { additionalProperties: false }
)
export type LedgerQuery = Static<typeof ledgerQuerySchema>
export const ledgerQueryValidator = getValidator(ledgerQuerySchema, queryValidator)
