/** An amount in minor units as people read it, e.g. `formatMoney(1250, 'EUR')` → `€12.50`, `formatMoney(500, 'JPY')` → `¥500`. */
export const formatMoney = (amount: number, currency: string) => {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency })
  return format.format(amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2))
}
