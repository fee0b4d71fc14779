/** An amount in minor units as people read it, e.g. `formatMoney(1250, 'EUR')` → `€12.50`, `formatMoney(500, 'JPY')` → `¥500`. */
export const formatMoney = (amount: number, currency: string) => {
  const { format, minorUnits } = formatOf(currency)
  return format.format(amount / 10 ** minorUnits)
}

// Building an Intl.NumberFormat costs far more than formatting with one (it showed in notify's
// profile under checkout load): one per currency.
const formats = new Map<string, { format: Intl.NumberFormat; minorUnits: number }>()
const formatOf = (currency: string) => {
  let known = formats.get(currency)
  if (!known) {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency })
    known = { format, minorUnits: format.resolvedOptions().maximumFractionDigits ?? 2 }
    formats.set(currency, known)
  }
  return known
}
