const durationUnits = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A `durationSetting` (settings.ts) in milliseconds: `30s`, `15m`, `24h`, `14d` or `0`. */
export const durationMs = (value: string) =>
  value === '0' ? 0 : Number.parseInt(value, 10) * durationUnits[value.slice(-1) as keyof typeof durationUnits]
