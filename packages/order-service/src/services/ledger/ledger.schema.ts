import { Type, type Static } from '@feathersjs/typebox'

const Amount = Type.Integer()

export const ledgerViewSchema = Type.Object(
  {
    /** A seller's: per currency, held in escrow and available (owed to them, released). */
    balances: Type.Optional(Type.Array(Type.Object({ currency: Type.String(), held: Amount, available: Amount }))),
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
    trialBalance: Type.Optional(Type.Array(Type.Object({ currency: Type.String(), balance: Amount })))
  },
  { $id: 'LedgerView', additionalProperties: false }
)
export type LedgerView = Static<typeof ledgerViewSchema>
