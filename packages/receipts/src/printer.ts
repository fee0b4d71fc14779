import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder'
import { layoutReceipt, type ReceiptColumns } from './layout'
import type { PrintableReceipt } from './receipt.schema'

export const PRINTER_LANGUAGES = ['esc-pos', 'star-prnt'] as const
export type PrinterLanguage = (typeof PRINTER_LANGUAGES)[number]

/** The receipt in a receipt printer's own command language (ESC/POS: Epson and most others; StarPRNT: Star). */
export const renderReceipt = (printable: PrintableReceipt, { language, columns }: { language: PrinterLanguage; columns: ReceiptColumns }) => {
  const encoder = new ReceiptPrinterEncoder({ language, columns }).initialize().codepage('auto')
  for (const block of layoutReceipt(printable, columns)) {
    switch (block.kind) {
      case 'text':
        encoder.align(block.align)
        if (block.emphasis === 'heading') encoder.bold(true).height(2)
        if (block.emphasis === 'inverted') encoder.invert(true)
        for (const line of block.lines) encoder.line(line)
        encoder.bold(false).height(1).invert(false).align('left')
        break
      case 'table':
        encoder.bold(block.bold ?? false)
        encoder.table(
          block.columns.map((column, index) => ({ ...column, marginLeft: index > 0 ? 1 : 0 })),
          block.rows
        )
        encoder.bold(false)
        break
      case 'rule':
        encoder.rule()
        break
      case 'qrcode':
        encoder.align('center').qrcode(block.value).align('left')
        break
      case 'cut':
        encoder.cut()
        break
    }
  }
  return encoder.encode()
}
