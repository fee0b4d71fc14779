/** PostgreSQL hands timestamps over as Dates; the API and its types speak ISO 8601 strings. */
export const isoTimestamp = async <V extends string | null>(value: V | undefined): Promise<V | undefined> =>
  value === undefined || value === null ? value : (new Date(value).toISOString() as V)
