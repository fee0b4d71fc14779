import { formatMoney } from '@marketmesh/shared/money'
import { printableReceipt, type PrintableReceipt } from './receipt.schema'

/** The paper widths receipts are laid out for, in characters of the printer's normal font: 58 mm, 80 mm (two fonts). */
export const RECEIPT_COLUMNS = [32, 42, 48] as const
export type ReceiptColumns = (typeof RECEIPT_COLUMNS)[number]

export interface ReceiptColumn {
  width: number
  align: 'left' | 'right'
}

/**
 * One receipt laid out for a paper width, once for every output: the printer languages and
 * plain text show the same lines. Text blocks are already wrapped to the width; table cells are
 * wrapped by each renderer, into their column, with one space between columns.
 */
export type ReceiptBlock =
  | { kind: 'text'; lines: string[]; align: 'left' | 'center'; emphasis?: 'heading' | 'inverted' }
  | { kind: 'table'; columns: ReceiptColumn[]; rows: string[][]; bold?: boolean }
  | { kind: 'rule' }
  | { kind: 'qrcode'; value: string }
  | { kind: 'cut' }

const characters = (text: string) => Array.from(text)

/** Word-wraps to `width` characters; a word longer than a line (an order id on 58 mm paper) is broken. */
export const wrapText = (text: string, width: number): string[] => {
  const lines: string[] = []
  let line: string[] = []
  for (const word of text.split(/\s+/).filter(Boolean).map(characters)) {
    if (line.length > 0 && line.length + 1 + word.length <= width) {
      line.push(' ', ...word)
      continue
    }
    if (line.length > 0) lines.push(line.join(''))
    let rest = word
    while (rest.length > width) {
      lines.push(rest.slice(0, width).join(''))
      rest = rest.slice(width)
    }
    line = rest
  }
  if (line.length > 0 || lines.length === 0) lines.push(line.join(''))
  return lines
}

export const textWidth = (text: string) => characters(text).length

// The printer does not know the shop's time zone; UTC, said so, is never misread.
const placedAtFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })

/**
 * The receipt's blocks for a paper width. Every string of the receipt, whichever field it is in,
 * is made a printable line first (see `printableReceipt`): no printer command reaches the paper.
 */
export const layoutReceipt = ({ receipt, copy }: PrintableReceipt, columns: ReceiptColumns): ReceiptBlock[] =>
  receiptBlocks({ receipt: printableReceipt(receipt), copy }, columns)

const receiptBlocks = ({ receipt, copy }: PrintableReceipt, columns: ReceiptColumns): ReceiptBlock[] => {
  const money = (amount: number) => formatMoney(amount, receipt.currency)
  const text = (...lines: string[]): ReceiptBlock => ({ kind: 'text', lines: lines.flatMap((line) => wrapText(line, columns)), align: 'left' })
  const copyBanner: ReceiptBlock[] = copy ? [{ kind: 'text', lines: ['*** COPY ***'], align: 'center', emphasis: 'inverted' }] : []

  const quantities = receipt.lines.map((line) => `${line.quantity}x`)
  const quantityWidth = Math.max(...quantities.map(textWidth))
  const amountWidth = Math.min(
    Math.max(...[...receipt.lines.map((line) => line.total), receipt.total].map((amount) => textWidth(money(amount)))),
    columns >> 1
  )
  const titleWidth = columns - quantityWidth - amountWidth - 2
  const itemRows = receipt.lines.flatMap((line, index) => [
    [quantities[index], line.title, money(line.total)],
    ...(line.quantity > 1 ? [['', `@ ${money(line.unitPrice)}`, '']] : [])
  ])
  const address = receipt.shippingAddress

  return [
    ...copyBanner,
    ...(receipt.shopName ? [{ kind: 'text', lines: wrapText(receipt.shopName, columns), align: 'center', emphasis: 'heading' } as const] : []),
    text(`Order ${receipt.orderId}`, `Placed ${placedAtFormat.format(new Date(receipt.placedAt))} UTC`),
    { kind: 'rule' },
    {
      kind: 'table',
      columns: [
        { width: quantityWidth, align: 'left' },
        { width: titleWidth, align: 'left' },
        { width: amountWidth, align: 'right' }
      ],
      rows: itemRows
    },
    { kind: 'rule' },
    {
      kind: 'table',
      columns: [
        { width: columns - amountWidth - 1, align: 'left' },
        { width: amountWidth, align: 'right' }
      ],
      rows: [['Total', money(receipt.total)]],
      bold: true
    },
    { kind: 'rule' },
    text(
      'Ship to:',
      address.name,
      address.line1,
      ...(address.line2 ? [address.line2] : []),
      `${address.postalCode} ${address.city}`,
      address.country
    ),
    text(`Buyer: ${receipt.buyerName}`),
    { kind: 'qrcode', value: receipt.orderId },
    ...copyBanner,
    { kind: 'cut' }
  ]
}
