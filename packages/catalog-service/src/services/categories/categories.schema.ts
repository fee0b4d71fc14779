import { resolve } from '@feathersjs/schema'
import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, publicQuerySyntax, queryValidator, SingleLineText, type ServiceHookContext } from '@marketmesh/shared'
import type { CategoryService } from './categories.class'

export const categorySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: SingleLineText({ minLength: 1, maxLength: 100 }),
    /** The category above this one; null at the top of the tree. */
    parentId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' })
  },
  { $id: 'Category', additionalProperties: false }
)
export type Category = Static<typeof categorySchema>

export const categoryDataSchema = Type.Intersect([Type.Pick(categorySchema, ['name']), Type.Partial(Type.Pick(categorySchema, ['parentId']))], {
  $id: 'CategoryData',
  additionalProperties: false
})
export type CategoryData = Static<typeof categoryDataSchema>
export const categoryDataValidator = getValidator(categoryDataSchema, dataValidator)

export const categoryPatchSchema = Type.Partial(Type.Pick(categorySchema, ['name', 'parentId']), {
  $id: 'CategoryPatch',
  additionalProperties: false,
  minProperties: 1
})
export type CategoryPatch = Static<typeof categoryPatchSchema> & { updatedAt?: Date }
export const categoryPatchValidator = getValidator(categoryPatchSchema, dataValidator)
export const categoryPatchResolver = resolve<CategoryPatch, ServiceHookContext<CategoryService>>({
  updatedAt: async () => new Date()
})

export const categoryQueryProperties = Type.Pick(categorySchema, ['id', 'name', 'parentId', 'createdAt'])
export const categoryQuerySchema = publicQuerySyntax(categoryQueryProperties, ['id', 'name', 'parentId', 'createdAt', 'updatedAt'])
export type CategoryQuery = Static<typeof categoryQuerySchema>
export const categoryQueryValidator = getValidator(categoryQuerySchema, queryValidator)
