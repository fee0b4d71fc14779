import { execFileSync } from 'node:child_process'
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder'
import { describe, expect, it } from 'vitest'
import {
  PRINTER_LANGUAGES,
  RECEIPT_COLUMNS,
  renderReceipt,
  printableReceipt,
  renderReceiptText,
  type PrintableReceipt,
  type Receipt,
  validPrintJobMessage
} from '../src'

const receipt: Receipt = {
  shopName: 'Käse & Co. Fine Cheese Emporium',
  orderId: '3f2b8c1e-9a4d-4e7f-b1c2-5d6e7f8a9b0c',
  placedAt: '2026-12-01T10:54:00.000Z',
  buyerName: 'Ada Lovelace',
  shippingAddress: { name: 'Ada Lovelace', line1: '12 St James Square', line2: 'Flat 3', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
  lines: [
    { title: 'Aged Gouda, 500 g wheel, with a title much longer than any receipt is wide', quantity: 2, unitPrice: 1250, total: 2500 },
    { title: 'Brie', quantity: 1, unitPrice: 899, total: 899 }
  ],
  total: 3399,
  currency: 'EUR'
}
const original: PrintableReceipt = { receipt, copy: false }
const reprint: PrintableReceipt = { receipt, copy: true }

/** The bytes the encoder itself emits for the commands of one `type` (qrcode, cut) in what `build` encodes. */
const commandBytes = (language: (typeof PRINTER_LANGUAGES)[number], type: string, build: (encoder: ReceiptPrinterEncoder) => void) => {
  const encoder = new ReceiptPrinterEncoder({ language })
  build(encoder)
  const commands = encoder.encode('lines').flat() as { type: string; payload: number[] }[]
  return Buffer.from(commands.filter((command) => command.type === type).flatMap((command) => command.payload))
}

const contains = (bytes: Uint8Array, part: Buffer | string) => Buffer.from(bytes).includes(part)

describe('receipts', () => {
  for (const language of PRINTER_LANGUAGES) {
    it(`renders ${language} with the order number as text and QR code, and a cut`, () => {
      const bytes = renderReceipt(original, { language, columns: 42 })
      expect(contains(bytes, `Order ${receipt.orderId}`)).toBe(true)
      expect(contains(bytes, 'Brie')).toBe(true)
      expect(contains(bytes, 'SW1Y 4JH London')).toBe(true)
      const qrcode = commandBytes(language, 'qrcode', (encoder) => encoder.qrcode(receipt.orderId))
      expect(qrcode.includes(Buffer.from(receipt.orderId))).toBe(true)
      expect(contains(bytes, qrcode)).toBe(true)
      const cut = commandBytes(language, 'cut', (encoder) => encoder.cut())
      expect(cut.length).toBeGreaterThan(0)
      expect(Buffer.from(bytes).lastIndexOf(cut)).toBeGreaterThan(Buffer.from(bytes).lastIndexOf(qrcode))
      expect(contains(bytes, 'COPY')).toBe(false)
    })

    it(`marks a ${language} reprint COPY`, () => {
      expect(contains(renderReceipt(reprint, { language, columns: 32 }), '*** COPY ***')).toBe(true)
    })
  }

  it('renders the two printer languages differently', () => {
    const [escPos, starPrnt] = PRINTER_LANGUAGES.map((language) => Buffer.from(renderReceipt(original, { language, columns: 48 })))
    expect(escPos.equals(starPrnt)).toBe(false)
  })

  for (const columns of RECEIPT_COLUMNS) {
    it(`lays out plain text within ${columns} columns`, () => {
      const text = renderReceiptText(reprint, { columns })
      const lines = text.trimEnd().split('\n')
      for (const line of lines) expect(Array.from(line).length, line).toBeLessThanOrEqual(columns)
      expect(lines).toContain('-'.repeat(columns))
      expect(lines.find((line) => line.startsWith('Total'))).toMatch(/^Total +€33\.99$/)
      expect(lines.filter((line) => line.trim() === '*** COPY ***')).toHaveLength(2)
      // Every word of the long title is there, wrapped in its column beside the amounts.
      const words = lines
        .join(' ')
        .replace(/€[\d.]+/g, ' ')
        .replace(/\s+/g, ' ')
      expect(words).toContain(`2x ${receipt.lines[0].title} @`)
      expect(text.replace(/\s+/g, '')).toContain(receipt.orderId)
    })
  }

  it('uses the whole width of a wider paper', () => {
    const lines = renderReceiptText(original, { columns: 48 }).split('\n')
    expect(lines).toContain(`Order ${receipt.orderId}`)
    expect(lines).toContain(`1x Brie${' '.repeat(48 - 'Brie'.length - 3 - '€8.99'.length)}€8.99`)
    expect(lines).toContain('   @ €12.50')
    expect(lines.join('\n')).not.toContain('COPY')
  })

  it('formats minor units in the currency of the order', () => {
    const yen = renderReceiptText(
      { receipt: { ...receipt, currency: 'JPY', total: 500, lines: [{ title: 'Tea', quantity: 1, unitPrice: 500, total: 500 }] }, copy: false },
      { columns: 32 }
    )
    expect(yen).toMatch(/^Total +¥500$/m)
    const dinar = renderReceiptText({ receipt: { ...receipt, currency: 'KWD', total: 1234 }, copy: false }, { columns: 32 })
    expect(dinar).toMatch(/^Total +KWD 1\.234$/m)
  })

  describe('with printer commands and invisible characters in every field', () => {
    // ESC p (kick the cash drawer), GS V (cut), ESC @ (reset), a bidi override, a zero-width space and joiner.
    const hostile: PrintableReceipt = {
      copy: false,
      receipt: {
        ...receipt,
        shopName: 'Käse\u001bp022 & Co.',
        buyerName: 'Ada\u001dV1 Lovelace',
        shippingAddress: {
          name: 'Ada\r\nLovelace\u202e',
          line1: 'Main St 1\u001bp022',
          line2: 'Flat\u001b@3',
          city: 'Lon\u200bdon\u0085',
          postalCode: 'SW1Y\t4JH\u001d',
          country: 'G\u0007B'
        },
        lines: [{ title: 'Brie\u001bd\u0003\u00ad\u200d', quantity: 1, unitPrice: 899, total: 899 }],
        total: 899
      }
    }
    // What is printed: the same fields, control characters as spaces, invisible characters (joiners too) gone.
    const printable: PrintableReceipt = {
      copy: false,
      receipt: {
        ...hostile.receipt,
        shopName: 'Käse p022 & Co.',
        buyerName: 'Ada V1 Lovelace',
        shippingAddress: {
          name: 'Ada  Lovelace',
          line1: 'Main St 1 p022',
          line2: 'Flat @3',
          city: 'London ',
          postalCode: 'SW1Y 4JH ',
          country: 'G B'
        },
        lines: [{ title: 'Brie d ', quantity: 1, unitPrice: 899, total: 899 }]
      }
    }
    const invisible = /[\p{Cc}\p{Cf}]/u

    for (const language of PRINTER_LANGUAGES) {
      it(`prints none of them in ${language}: the bytes are those of the printable receipt`, () => {
        for (const columns of RECEIPT_COLUMNS) {
          const bytes = Buffer.from(renderReceipt(hostile, { language, columns }))
          expect(bytes.equals(Buffer.from(renderReceipt(printable, { language, columns }))), `${columns} columns`).toBe(true)
          expect(contains(bytes, '\u001bp0')).toBe(false)
          expect(contains(bytes, 'Main St 1 p022')).toBe(true)
        }
      })
    }

    it('writes none of them in plain text', () => {
      for (const columns of RECEIPT_COLUMNS) {
        const text = renderReceiptText(hostile, { columns })
        expect(text).toBe(renderReceiptText(printable, { columns }))
        expect(text.replaceAll('\n', '')).not.toMatch(invisible)
      }
    })

    it('has none of them once made printable', () => {
      expect(printableReceipt(hostile.receipt)).toEqual(printable.receipt)
    })
  })

  it('validates print.job messages against the contract', () => {
    const valid = validPrintJobMessage
    const message = { jobId: '0c3e4a52-8f1d-4b6e-9a7c-2d5f8e1b3c4a', orderId: receipt.orderId, copy: false, createdAt: receipt.placedAt, receipt }
    expect(valid(message)).toBe(true)
    expect(valid({ ...message, receipt: { ...receipt, lines: [] } })).toBe(false)
    expect(valid.errors?.[0].instancePath).toBe('/receipt/lines')
  })

  it('is importable as @marketmesh/receipts without the server kit', () => {
    // Run from the built package: what an agent on a printer's Raspberry Pi loads.
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        "require('@marketmesh/receipts'); console.log(Object.keys(require.cache).filter((file) => /node_modules\\/(pg|knex|amqplib|@feathersjs\\/koa)\\//.test(file)).length)"
      ],
      { cwd: __dirname, encoding: 'utf8' }
    )
    expect(loaded.trim()).toBe('0')
  })
})
