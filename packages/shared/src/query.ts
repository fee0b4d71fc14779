import { getValidator, queryProperties, sortDefinition, StringEnum, Type, type TObject, type TSchema } from '@feathersjs/typebox'
import { queryValidator } from './validators'

// A page and an offset are whole numbers that PostgreSQL's LIMIT and OFFSET take.
const Count = Type.Integer({ minimum: 0, maximum: 2_147_483_647 })

/**
 * The Feathers query syntax of a service, as `querySyntax` builds it but stricter: `$select` of
 * the `selectable` fields only (the public ones: no internal column can be asked for, whatever
 * the filters are), `$limit` and `$skip` as whole numbers, and nothing else, so an unknown field
 * is a 400 naming it instead of a database error.
 */
export const publicQuerySyntax = <T extends TObject, S extends string, X extends { [K in keyof T['properties']]?: { [key: string]: TSchema } }>(
  filterable: T,
  selectable: readonly [S, ...S[]],
  extensions: X = {} as X
) => {
  const properties = queryProperties(filterable, extensions)
  const $or = Type.Array(properties)
  const $and = Type.Array(Type.Union([properties, Type.Object({ $or })]))
  const $select = Type.Array(StringEnum([...selectable]), { maxItems: selectable.length })
  return Type.Intersect(
    [
      Type.Partial(
        Type.Object({ $limit: Count, $skip: Count, $sort: sortDefinition(filterable), $select, $and, $or }, { additionalProperties: false })
      ),
      properties
    ],
    { additionalProperties: false }
  )
}

/** The query of a service that takes none (e.g. authentication): any field is unknown. */
export const noQuerySchema = Type.Object({}, { additionalProperties: false })
export const noQueryValidator = getValidator(noQuerySchema, queryValidator)
