import { layoutReceipt, textWidth, wrapText, type ReceiptBlock, type ReceiptColumns } from './layout'
import type { PrintableReceipt } from './receipt.schema'

const pad = (text: string, width: number, align: 'left' | 'right' | 'center') => {
  const space = Math.max(0, width - textWidth(text))
  if (align === 'right') return ' '.repeat(space) + text
  if (align === 'center') return ' '.repeat(space >> 1) + text
  return text + ' '.repeat(space)
}

const tableLines = (block: Extract<ReceiptBlock, { kind: 'table' }>) =>
  block.rows.flatMap((row) => {
    const cells = row.map((cell, index) => wrapText(cell, block.columns[index].width))
    const height = Math.max(...cells.map((lines) => lines.length))
    return Array.from({ length: height }, (_, line) =>
      cells
        .map((lines, index) => pad(lines[line] ?? '', block.columns[index].width, block.columns[index].align))
        .join(' ')
        .trimEnd()
    )
  })

/** The receipt as plain text, no line longer than `columns` (CloudPRNT's text/plain, `--out -` for a look). */
export const renderReceiptText = (printable: PrintableReceipt, { columns }: { columns: ReceiptColumns }) => {
  const lines = layoutReceipt(printable, columns).flatMap((block): string[] => {
    switch (block.kind) {
      case 'text':
        return block.lines.map((line) => pad(line, columns, block.align).trimEnd())
      case 'table':
        return tableLines(block)
      case 'rule':
        return ['-'.repeat(columns)]
      // The order number is printed as text above; paper is cut by hand.
      case 'qrcode':
      case 'cut':
        return []
    }
  })
  return `${lines.join('\n')}\n`
}
