// What @marketmesh/client relies on: the paths and the methods callers from outside may use.
export const productImagePath = 'products/:productId/images'
export const productImageMethods = ['find', 'get', 'create', 'patch', 'remove'] as const

/** `POST /products/:productId/images/:imageId/complete`: the upload is done, check it. */
export const imageCompletionPath = 'products/:productId/images/:imageId/complete'
export const imageCompletionMethods = ['create'] as const
