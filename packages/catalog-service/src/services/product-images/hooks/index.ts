export * from './announce-images'
export * from './limit-upload-requests'
export * from './load-image-product'
