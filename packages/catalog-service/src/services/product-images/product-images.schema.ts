import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, SingleLineText } from '@marketmesh/shared'
import { IMAGE_TYPES } from '../../images/checks'
import { IMAGE_STATUSES } from '../../images/image'

const Urls = Type.Object({ thumb: Type.String(), medium: Type.String(), large: Type.String(), original: Type.String() })
const Pixels = Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])

/** What buyers read beside the image: one line of text. */
const Alt = SingleLineText({ maxLength: 300 })

export const productImageSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    productId: Type.String({ format: 'uuid' }),
    /** `pending` until the upload is completed, `processing` while it is checked, then `ready` or `rejected`. */
    status: StringEnum([...IMAGE_STATUSES]),
    alt: Alt,
    /** Its place among the product's images, from 0. */
    position: Type.Integer({ minimum: 0 }),
    width: Pixels,
    height: Pixels,
    /** Why a `rejected` image was refused. */
    rejectionReason: Type.Union([Type.String(), Type.Null()]),
    /** Once ready: 200, 800 and 1600 px wide as WebP, and the whole image in its own format. */
    urls: Type.Union([Urls, Type.Null()]),
    /** Once ready: the same sizes in the upload's own format, for clients without WebP. */
    fallback: Type.Union([Urls, Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' })
  },
  { $id: 'ProductImage', additionalProperties: false }
)

export const productImageDataSchema = Type.Object(
  {
    contentType: StringEnum([...IMAGE_TYPES]),
    /** Bytes; at most `MEDIA_MAX_BYTES` (10 MB). */
    size: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
    alt: Type.Optional(Alt)
  },
  { $id: 'ProductImageData', additionalProperties: false }
)
export type ProductImageData = Static<typeof productImageDataSchema>
export const productImageDataValidator = getValidator(productImageDataSchema, dataValidator)

/** The presigned upload: one PUT of exactly that type and size to `uploadUrl`, with `headers`, before `expiresAt`. */
export const uploadTicketSchema = Type.Object(
  {
    imageId: Type.String({ format: 'uuid' }),
    uploadUrl: Type.String(),
    method: Type.Literal('PUT'),
    headers: Type.Record(Type.String(), Type.String()),
    expiresAt: Type.String({ format: 'date-time' })
  },
  { $id: 'UploadTicket', additionalProperties: false }
)
export type UploadTicket = Static<typeof uploadTicketSchema>

export const productImagePatchSchema = Type.Object(
  {
    alt: Type.Optional(Alt),
    /** Moves the image to this place (0 is first); the others shift. */
    position: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 }))
  },
  { $id: 'ProductImagePatch', additionalProperties: false, minProperties: 1 }
)
export type ProductImagePatch = Static<typeof productImagePatchSchema>
export const productImagePatchValidator = getValidator(productImagePatchSchema, dataValidator)

/** `complete` takes no fields: an empty object. */
export const imageCompletionDataValidator = getValidator(Type.Object({}, { $id: 'ImageCompletionData', additionalProperties: false }), dataValidator)
