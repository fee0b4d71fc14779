import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import exifReader from 'exif-reader'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type ServiceApplication } from '@marketmesh/shared'
import { createTcpProxy, waitFor } from '@marketmesh/test-support'
import * as imageCleanup from '../migrations/0011_image_cleanup'
import { createApp } from '../src/app'
import { admin, buyer, productData, seller, startCatalog, type Catalog } from './helpers'
import { bombPng, photoWithGps, settled, signedForItsHost, smallPng, startClamd, startS3, upload } from './images-support'

const newProduct = async (catalog: Catalog, owner = seller()) => {
  const { body } = await catalog.call('POST', '/products', { as: owner, body: productData() })
  return { owner, productId: body.id as string }
}

/** Every file an image's URLs point at, fetched as a buyer's browser would. */
const filesOf = async (catalog: Catalog, image: { urls: Record<string, string>; fallback: Record<string, string> }) =>
  Promise.all(
    [...Object.values(image.urls), ...Object.values(image.fallback)].map(async (url) => {
      const response = await fetch(new URL(url, catalog.url))
      return { url, response, bytes: Buffer.from(await response.arrayBuffer()) }
    })
  )

/** The unchecked upload is deleted once its image is settled (right after the commit that settles it). */
const uploadGone = (catalog: Catalog, imageId: string) =>
  waitFor(async () => (await catalog.app.get('mediaStorage').read(`uploads/${imageId}`)) === undefined, { what: 'the upload deleted' })

/** Asks for an upload of `bytes` as a PNG; answers the ticket. */
const askUpload = async (catalog: Catalog, owner: ReturnType<typeof seller>, productId: string, bytes: Buffer) => {
  const { status, body } = await catalog.call('POST', `/products/${productId}/images`, {
    as: owner,
    body: { contentType: 'image/png', size: bytes.length }
  })
  expect(status).toBe(201)
  return body as { imageId: string; uploadUrl: string; headers: Record<string, string>; expiresAt: string }
}

const stored = async (catalog: Catalog, key: string) => (await catalog.app.get('mediaStorage').read(key)) !== undefined

/** Time passes for these uploads: their URLs have expired and their timers are due. */
const expireNow = async (catalog: Catalog, imageIds: string[]) => {
  await catalog
    .db('product_images')
    .whereIn('id', imageIds)
    .update({ expiresAt: catalog.db.raw("now() - interval '1 second'") })
  await catalog.db('side_effects').where({ kind: 'expire-upload' }).whereIn('key', imageIds).update({ run_after: catalog.db.fn.now() })
  catalog.app.get('events').effects.wake()
}

type Driver = { name: string; start: () => Promise<{ settings: Record<string, unknown>; close: () => Promise<void> }> }

const drivers: Driver[] = [
  {
    name: 'the local folder',
    start: async () => {
      const directory = await mkdtemp(join(tmpdir(), 'mm-media-'))
      return { settings: { directory }, close: () => rm(directory, { recursive: true, force: true }) }
    }
  },
  {
    name: 'S3 (s3rver)',
    start: async () => {
      const s3 = await startS3()
      return { settings: { s3: s3.settings }, close: s3.close }
    }
  }
]

describe.each(drivers)('product images on $name', ({ start }) => {
  let catalog: Catalog
  let store: Awaited<ReturnType<Driver['start']>>
  beforeAll(async () => {
    store = await start()
    catalog = await startCatalog('images', { media: store.settings })
  })
  afterAll(async () => {
    await catalog?.close()
    await store?.close()
  })

  it('takes a photo through the three steps, strips its GPS position from every variant, and serves them for good', async () => {
    const { owner, productId } = await newProduct(catalog)
    const photo = await photoWithGps()
    expect(exifReader((await sharp(photo).metadata()).exif!).GPSInfo?.GPSLatitude).toBeDefined()
    const imageId = await upload(catalog, owner, productId, photo, 'image/jpeg', 'The lamp, lit')
    const image = await settled(catalog, owner, productId, imageId)
    expect(image).toMatchObject({ id: imageId, status: 'ready', alt: 'The lamp, lit', width: 2400, height: 1600, rejectionReason: null })

    const files = await filesOf(catalog, image)
    expect(files).toHaveLength(8)
    for (const { url, response, bytes } of files) {
      expect(response.status, url).toBe(200)
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      const etag = response.headers.get('etag')
      expect(etag).toMatch(/^"[0-9a-f]{16}"$/)
      const metadata = await sharp(bytes).metadata()
      // No EXIF at all, so no GPS position, camera or serial number.
      expect(metadata.exif, url).toBeUndefined()
      expect(metadata.xmp, url).toBeUndefined()
      const again = await fetch(new URL(url, catalog.url), { headers: { 'If-None-Match': etag! } })
      expect(again.status).toBe(304)
    }
    const widths = await Promise.all(
      (['thumb', 'medium', 'large'] as const).map(
        async (size) => (await sharp(files.find((file) => file.url === image.urls[size])!.bytes).metadata()).width
      )
    )
    expect(widths).toEqual([200, 800, 1600])
    expect((await sharp(files.find((file) => file.url === image.urls.thumb)!.bytes).metadata()).format).toBe('webp')
    expect((await sharp(files.find((file) => file.url === image.fallback.thumb)!.bytes).metadata()).format).toBe('jpeg')
    expect((await sharp(files.find((file) => file.url === image.urls.original)!.bytes).metadata()).width).toBe(2400)
    if (store.settings.s3) {
      // A CDN in front of the bucket (MEDIA_PUBLIC_URL) keeps the objects as long: they carry the header themselves.
      const { endpoint, bucket } = store.settings.s3 as { endpoint: string; bucket: string }
      const object = await fetch(`${endpoint}/${bucket}/${image.urls.thumb.replace(/^\/media\//, '')}`)
      expect(object.status).toBe(200)
      expect(object.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    }

    // A buyer sees it on the product and in search; the product's update carries its id.
    const { body: product } = await catalog.call('GET', `/products/${productId}`, { as: buyer() })
    expect(product.images).toEqual([expect.objectContaining({ id: imageId, status: 'ready', urls: image.urls })])
    const { body: found } = await catalog.call('GET', '/search?$limit=100')
    expect(found.data.find((one: { id: string }) => one.id === productId).thumb).toBe(image.urls.thumb)
    const [updated] = await catalog.eventsOf('product.updated', 1, (event) => event.data.productId === productId)
    expect(updated.data.imageIds).toEqual([imageId])
    // The unchecked upload is gone.
    await uploadGone(catalog, imageId)
  })

  it('takes an upload through @marketmesh/client in one call (this store’s upload URL as it gives it)', async () => {
    const { owner, productId } = await newProduct(catalog)
    const uploaded = await catalog.client(owner).products.images.upload(productId, new Uint8Array(await smallPng(7)), {
      contentType: 'image/png',
      alt: 'From the app'
    })
    expect(uploaded).toMatchObject({ status: 'processing', alt: 'From the app' })
    expect(await settled(catalog, owner, productId, uploaded.id)).toMatchObject({ status: 'ready', width: 300, height: 200 })
    // The rest of the client's image calls, as the shop's app makes them.
    const images = catalog.client(owner).products.images
    expect((await images.find(productId)).map(({ id }) => id)).toEqual([uploaded.id])
    expect(await images.patch(productId, uploaded.id, { alt: 'Renamed' })).toMatchObject({ alt: 'Renamed' })
    expect(await images.get(productId, uploaded.id)).toMatchObject({ id: uploaded.id, alt: 'Renamed' })
    await images.remove(productId, uploaded.id)
    expect(await images.find(productId)).toEqual([])
  })

  it('gives an upload URL for exactly the type and length asked for, for 15 minutes', async () => {
    const { owner, productId } = await newProduct(catalog)
    const png = await smallPng(14)
    const asked = Date.now()
    const ticket = await askUpload(catalog, owner, productId, png)
    const lifetime = new Date(ticket.expiresAt).getTime() - asked
    expect(lifetime).toBeGreaterThanOrEqual(15 * 60_000 - 1_000)
    expect(lifetime).toBeLessThanOrEqual(15 * 60_000 + 5_000)
    const url = new URL(ticket.uploadUrl, catalog.url)
    const put = (headers: Record<string, string>, body: Buffer, to = url) => fetch(to, { method: 'PUT', headers, body }).then(({ status }) => status)
    if (store.settings.s3) {
      // The bucket refuses what its signature does not cover (s3rver, the one here, checks only the expiry).
      expect(url.searchParams.get('X-Amz-SignedHeaders')!.split(';')).toEqual(expect.arrayContaining(['content-type', 'content-length']))
      expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeGreaterThanOrEqual(15 * 60 - 1)
      expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(15 * 60)
      // Nor a checksum of the body the URL was signed without (zero bytes): stores that check it would refuse every upload.
      expect([...url.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([])
    } else {
      expect(await put({ 'Content-Type': 'image/jpeg' }, png)).toBe(403)
      expect(await put(ticket.headers, Buffer.concat([png, png]))).toBe(403)
    }
    // The same upload, signed to expire in a second, is refused once it has.
    const shortLived = await catalog.app
      .get('mediaStorage')
      .presignUpload(`uploads/${ticket.imageId}`, 'image/png', png.length, new Date(Date.now() + 1_000))
    await new Promise((resolve) => setTimeout(resolve, 2_100))
    expect(await put(shortLived.headers, png, new URL(shortLived.url, catalog.url))).toBe(403)
    expect(await put(ticket.headers, png)).toBe(200)
  })

  it('rejects a text file with a PNG header, says why, and deletes its bytes', async () => {
    const { owner, productId } = await newProduct(catalog)
    const fake = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('just some text, not an image at all')])
    const imageId = await upload(catalog, owner, productId, fake, 'image/png')
    const image = await settled(catalog, owner, productId, imageId)
    expect(image.status).toBe('rejected')
    expect(image.rejectionReason).toMatch(/not a JPEG, PNG, WebP or AVIF image|cannot be read|decoded/)
    expect(image.urls).toBeNull()
    await uploadGone(catalog, imageId)
    // Others do not see it.
    expect((await catalog.call('GET', `/products/${productId}/images/${imageId}`, { as: buyer() })).status).toBe(404)
    expect((await catalog.call('GET', `/products/${productId}`, { as: buyer() })).body.images).toEqual([])
  })

  it('rejects a JPEG announced as a PNG', async () => {
    const { owner, productId } = await newProduct(catalog)
    const imageId = await upload(catalog, owner, productId, await photoWithGps(400, 300), 'image/png')
    expect(await settled(catalog, owner, productId, imageId)).toMatchObject({
      status: 'rejected',
      rejectionReason: expect.stringMatching(/image\/jpeg, not the image\/png/)
    })
  })

  it('refuses a decompression bomb by its header, without decoding it', async () => {
    const { owner, productId } = await newProduct(catalog)
    const huge = await upload(catalog, owner, productId, bombPng(100_000, 100_000), 'image/png')
    expect(await settled(catalog, owner, productId, huge)).toMatchObject({
      status: 'rejected',
      rejectionReason: expect.stringMatching(/at most 12000 on a side/)
    })
    const many = await upload(catalog, owner, productId, bombPng(9_000, 9_000), 'image/png')
    expect(await settled(catalog, owner, productId, many)).toMatchObject({
      status: 'rejected',
      rejectionReason: expect.stringMatching(/at most 50000000 in all/)
    })
  })

  it('deletes an upload never completed, with the bytes that arrived, once its URL has expired and the grace after it', async () => {
    const { owner, productId } = await newProduct(catalog)
    const png = await smallPng(11)
    const abandoned = await askUpload(catalog, owner, productId, png)
    expect((await fetch(new URL(abandoned.uploadUrl, catalog.url), { method: 'PUT', headers: abandoned.headers, body: png })).status).toBe(200)
    const completed = await upload(catalog, owner, productId, await smallPng(12), 'image/png')
    await settled(catalog, owner, productId, completed)
    // Each upload's timer is written with it: due at its URL's expiry plus the 5 minutes' grace.
    const timer = await catalog.db('side_effects').where({ kind: 'expire-upload', key: abandoned.imageId }).first()
    const due = new Date(abandoned.expiresAt).getTime() + 5 * 60_000
    expect(Math.abs(new Date(timer.run_after).getTime() - due)).toBeLessThan(5_000)
    expect(await stored(catalog, `uploads/${abandoned.imageId}`)).toBe(true)

    await expireNow(catalog, [abandoned.imageId, completed])
    await waitFor(async () => !(await stored(catalog, `uploads/${abandoned.imageId}`)), { what: 'the abandoned upload deleted' })
    expect(await catalog.db('product_images').where({ id: abandoned.imageId }).first()).toBeUndefined()
    expect((await catalog.call('GET', `/products/${productId}/images/${abandoned.imageId}`, { as: owner })).status).toBe(404)
    // The completed image's timer finds it settled and leaves it.
    await waitFor(async () => (await catalog.db('side_effects').where({ kind: 'expire-upload', key: completed }).first()).status === 'done', {
      what: 'the timer of the completed upload done'
    })
    expect((await catalog.call('GET', `/products/${productId}/images/${completed}`, { as: owner })).body.status).toBe('ready')
  })

  it('deletes a product’s images with every file, even when the instance that deleted it stops before the files go', async () => {
    const { owner, productId } = await newProduct(catalog)
    const ready = await upload(catalog, owner, productId, await photoWithGps(900, 600), 'image/jpeg')
    await settled(catalog, owner, productId, ready)
    const png = await smallPng(13)
    const pending = await askUpload(catalog, owner, productId, png)
    const { files } = await catalog.db('product_images').where({ id: ready }).first()
    const keys: string[] = files.map((file: { key: string }) => file.key)
    expect(keys).toHaveLength(7)
    for (const key of keys) expect(await stored(catalog, key)).toBe(true)

    // The instance stops carrying out side effects right after the deletion's commit, as one that dies would.
    await catalog.app.get('events').effects.stop()
    expect((await catalog.call('DELETE', `/products/${productId}`, { as: owner })).status).toBe(200)
    expect(await catalog.db('product_images').where({ productId })).toEqual([])
    expect(await stored(catalog, keys[0])).toBe(true)
    // The pending upload's URL is still open: the local store refuses it now; a bucket takes it.
    const late = await fetch(new URL(pending.uploadUrl, catalog.url), { method: 'PUT', headers: pending.headers, body: png })
    expect(late.status).toBe(store.settings.s3 ? 200 : 404)

    await expireNow(catalog, [pending.imageId])
    const second: ServiceApplication = createApp(catalog.settings)
    const server = await listen(second, 0)
    try {
      await waitFor(
        async () => (await Promise.all([...keys, `uploads/${pending.imageId}`].map((key) => stored(catalog, key)))).every((kept) => !kept),
        {
          what: 'every file of the product’s images deleted'
        }
      )
      expect(await stored(catalog, `uploads/${ready}`)).toBe(false)
      if (!store.settings.s3) await expect(readdir(join(store.settings.directory as string, 'images'))).resolves.not.toContain(ready)
    } finally {
      await second.teardown()
      server.close()
    }
  })
})

describe('product images on S3 that sellers reach at another endpoint than the service does (docker compose: the host’s port, not minio)', () => {
  let catalog: Catalog
  let s3: Awaited<ReturnType<typeof startS3>>
  let proxy: Awaited<ReturnType<typeof createTcpProxy>>
  let publicEndpoint: string
  beforeAll(async () => {
    s3 = await startS3()
    // The same s3rver on another port, as the sellers reach it: cut, it shows that the service needs it for nothing.
    proxy = await createTcpProxy({ host: '127.0.0.1', port: Number(new URL(s3.settings.endpoint).port) })
    publicEndpoint = `http://127.0.0.1:${proxy.port}`
    catalog = await startCatalog('images_public', { media: { s3: { ...s3.settings, publicEndpoint } } })
  })
  afterAll(async () => {
    await catalog?.close()
    await proxy?.close()
    await s3?.close()
  })

  it('signs the upload URL for the public endpoint and takes the PUT there, and reads, writes and deletes at its own', async () => {
    const { owner, productId } = await newProduct(catalog)
    const png = await smallPng(21)
    const ticket = await askUpload(catalog, owner, productId, png)
    const url = new URL(ticket.uploadUrl)
    expect(url.origin).toBe(publicEndpoint)
    // The signature covers the host: right for the public one, and so wrong for the service's own.
    const sent = { ...ticket.headers, 'Content-Length': String(png.length) }
    expect(signedForItsHost(url, sent, s3.settings.secretAccessKey)).toBe(true)
    const atInternal = new URL(url)
    atInternal.host = new URL(s3.settings.endpoint).host
    expect(signedForItsHost(atInternal, sent, s3.settings.secretAccessKey)).toBe(false)
    expect((await fetch(url, { method: 'PUT', headers: ticket.headers, body: png })).status).toBe(200)

    await proxy.cut()
    const completed = await catalog.call('POST', `/products/${productId}/images/${ticket.imageId}/complete`, { as: owner, body: {} })
    expect(completed.status).toBe(201)
    const image = await settled(catalog, owner, productId, ticket.imageId)
    expect(image).toMatchObject({ status: 'ready', width: 300, height: 200 })
    for (const { url: fileUrl, response } of await filesOf(catalog, image)) expect(response.status, fileUrl).toBe(200)
    await uploadGone(catalog, ticket.imageId)
  })
})

describe('product images: who may, and the limits', () => {
  let catalog: Catalog
  let directory: string
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mm-media-'))
    catalog = await startCatalog('images_rules', { media: { directory } })
  })
  afterAll(async () => {
    await catalog?.close()
    await rm(directory, { recursive: true, force: true })
  })

  const ask = (as: ReturnType<typeof seller>, productId: string, body: Record<string, unknown> = { contentType: 'image/png', size: 1_000 }) =>
    catalog.call('POST', `/products/${productId}/images`, { as, body })

  it('answers another shop 404 and a buyer 403; an admin may', async () => {
    const { owner, productId } = await newProduct(catalog)
    const imageId = await upload(catalog, owner, productId, await smallPng(), 'image/png')
    await settled(catalog, owner, productId, imageId)
    const other = seller()
    expect((await ask(other, productId)).status).toBe(404)
    expect((await catalog.call('PATCH', `/products/${productId}/images/${imageId}`, { as: other, body: { alt: 'mine' } })).status).toBe(404)
    expect((await catalog.call('DELETE', `/products/${productId}/images/${imageId}`, { as: other })).status).toBe(404)
    expect((await catalog.call('POST', `/products/${productId}/images/${imageId}/complete`, { as: other, body: {} })).status).toBe(404)
    expect((await ask(buyer(), productId)).status).toBe(403)
    expect((await catalog.call('POST', `/products/${productId}/images`, { body: { contentType: 'image/png', size: 1 } })).status).toBe(401)
    expect((await ask(admin(), productId)).status).toBe(201)
    // Reading a listed product's ready images is for anyone.
    expect((await catalog.call('GET', `/products/${productId}/images/${imageId}`)).body.status).toBe('ready')
  })

  it.each([
    ['a GIF', { contentType: 'image/gif', size: 10 }, 'contentType'],
    ['more than 10 MB', { contentType: 'image/jpeg', size: 10 * 1024 * 1024 + 1 }, 'size'],
    ['no size', { contentType: 'image/jpeg' }, 'size'],
    ['an alt text with a control character', { contentType: 'image/jpeg', size: 10, alt: 'a\u001bb' }, 'alt'],
    ['an unknown field', { contentType: 'image/jpeg', size: 10, url: 'x' }, 'url']
  ])('refuses %s with 400 naming the field', async (_case, body, field) => {
    const { owner, productId } = await newProduct(catalog)
    const response = await ask(owner, productId, body)
    expect(response.status).toBe(400)
    expect(response.body.message).toMatch(new RegExp(`^Invalid ${field}: `))
    expect(await catalog.db('product_images').where({ productId }).count({ n: '*' })).toEqual([{ n: 0 }])
  })

  it('refuses an 11th image; a rejected one and an upload never made before its URL expired free their place', async () => {
    const { owner, productId } = await newProduct(catalog)
    const ids: string[] = []
    for (let i = 0; i < 10; i++) {
      const asked = await ask(owner, productId)
      expect(asked.status).toBe(201)
      ids.push(asked.body.imageId)
    }
    const eleventh = await ask(owner, productId)
    expect(eleventh.status).toBe(400)
    expect(eleventh.body.message).toMatch(/at most 10 images/)
    await catalog.db('product_images').where({ id: ids[0] }).update({ status: 'rejected', rejectionReason: 'test' })
    expect((await ask(owner, productId)).status).toBe(201)
    await catalog
      .db('product_images')
      .where({ id: ids[1] })
      .update({ expiresAt: catalog.db.raw("now() - interval '1 second'") })
    expect((await ask(owner, productId)).status).toBe(201)
    expect((await ask(owner, productId)).status).toBe(400)
  })

  it('limits a shop to 30 upload requests a minute: 429 with Retry-After', async () => {
    const owner = seller()
    const products = await Promise.all([1, 2, 3, 4].map(() => newProduct(catalog, owner)))
    for (let i = 0; i < 30; i++) expect((await ask(owner, products[i % 4].productId)).status).toBe(201)
    const refused = await ask(owner, products[0].productId)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another shop's count is its own.
    const another = await newProduct(catalog)
    expect((await ask(another.owner, another.productId)).status).toBe(201)
  })

  it('reorders, describes and deletes images; the product and the search’s thumb follow', async () => {
    const owner = seller()
    const { body: product } = await catalog.call('POST', '/products', { as: owner, body: productData({ title: 'Quince reading lamp' }) })
    const productId: string = product.id
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await upload(catalog, owner, productId, await smallPng(i), 'image/png'))
    const thumbs: Record<string, string> = {}
    for (const id of ids) thumbs[id] = (await settled(catalog, owner, productId, id)).urls.thumb
    // Anonymous reads, which the read cache keeps: the product's images in order, the search's first thumb.
    const anonymousOrder = async () => (await catalog.call('GET', `/products/${productId}`)).body.images.map((image: { id: string }) => image.id)
    const searchThumb = async () =>
      (await catalog.call('GET', '/search?q=quince')).body.data.find((one: { id: string }) => one.id === productId)?.thumb
    await waitFor(async () => JSON.stringify(await anonymousOrder()) === JSON.stringify(ids), { what: 'the three images in order' })
    await waitFor(async () => (await searchThumb()) === thumbs[ids[0]], { what: 'the first image’s thumb in search' })

    const moved = await catalog.call('PATCH', `/products/${productId}/images/${ids[2]}`, { as: owner, body: { position: 0, alt: 'Front' } })
    expect(moved.body).toMatchObject({ position: 0, alt: 'Front' })
    // At once: the move's commit dropped the cached answers before the PATCH answered.
    expect(await anonymousOrder()).toEqual([ids[2], ids[0], ids[1]])
    expect(await searchThumb()).toBe(thumbs[ids[2]])
    await catalog.eventsOf('product.updated', 1, (event) => event.data.productId === productId && event.data.imageIds?.[0] === ids[2])

    const { body: removed } = await catalog.call('DELETE', `/products/${productId}/images/${ids[0]}`, { as: owner })
    expect((await catalog.call('GET', `/products/${productId}/images/${ids[0]}`, { as: owner })).status).toBe(404)
    await waitFor(async () => (await fetch(new URL(removed.urls.thumb, catalog.url))).status === 404, { what: 'the files deleted' })
    // The deletion's update: the two left, in their order (an earlier update, before the third was ready, had two others).
    const [afterDelete] = await catalog.eventsOf(
      'product.updated',
      1,
      (event) => event.data.productId === productId && event.data.imageIds?.length === 2 && !event.data.imageIds.includes(ids[0])
    )
    expect(afterDelete.data.imageIds).toEqual([ids[2], ids[1]])
  })

  it('migration 0011 gives uploads made before it their timers and removes the images of products deleted before it', async () => {
    const deleted = await newProduct(catalog)
    const ready = await upload(catalog, deleted.owner, deleted.productId, await smallPng(21), 'image/png')
    await settled(catalog, deleted.owner, deleted.productId, ready)
    const { files } = await catalog.db('product_images').where({ id: ready }).first()
    const waiting = await newProduct(catalog)
    const { body: ticket } = await ask(waiting.owner, waiting.productId)
    // As before the migration: a product deleted without its images, an upload without a timer.
    await catalog.db('products').where({ id: deleted.productId }).update({ deletedAt: catalog.db.fn.now() })
    await catalog.db('side_effects').where({ kind: 'expire-upload', key: ticket.imageId }).delete()

    await imageCleanup.up(catalog.db)
    expect(await catalog.db('product_images').where({ productId: deleted.productId })).toEqual([])
    const removal = await catalog.db('side_effects').where({ kind: 'remove-image-files', key: ready }).first()
    expect(removal.payload.keys.sort()).toEqual([`uploads/${ready}`, ...files.map((file: { key: string }) => file.key)].sort())
    const timer = await catalog.db('side_effects').where({ kind: 'expire-upload', key: ticket.imageId }).first()
    expect(new Date(timer.run_after).getTime()).toBe(new Date(ticket.expiresAt).getTime() + 5 * 60_000)
    catalog.app.get('events').effects.wake()
    await waitFor(async () => (await catalog.app.get('mediaStorage').read(files[0].key)) === undefined, { what: 'the files removed' })
  })

  it('finishes an image whose instance stopped between the upload and its checks: another one makes it ready', async () => {
    const { owner, productId } = await newProduct(catalog)
    const png = await smallPng(7)
    const { body: ticket } = await ask(owner, productId, { contentType: 'image/png', size: png.length })
    await fetch(new URL(ticket.uploadUrl, catalog.url), { method: 'PUT', headers: ticket.headers, body: png })
    // This instance stops carrying out side effects, as one that dies right after answering would.
    await catalog.app.get('events').effects.stop()
    const completed = await catalog.call('POST', `/products/${productId}/images/${ticket.imageId}/complete`, { as: owner, body: {} })
    expect(completed.body.status).toBe('processing')
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await catalog.call('GET', `/products/${productId}/images/${ticket.imageId}`, { as: owner })).body.status).toBe('processing')

    const second: ServiceApplication = createApp(catalog.settings)
    const server = await listen(second, 0)
    try {
      expect(await settled(catalog, owner, productId, ticket.imageId)).toMatchObject({ status: 'ready', width: 300, height: 200 })
    } finally {
      await second.teardown()
      server.close()
    }
  })
})

describe('product images scanned by clamd', () => {
  let catalog: Catalog
  let directory: string
  let clamd: Awaited<ReturnType<typeof startClamd>>
  let malware: Buffer
  beforeAll(async () => {
    malware = await smallPng(66)
    clamd = await startClamd({ 'Marketmesh.Test.Malware': malware })
    directory = await mkdtemp(join(tmpdir(), 'mm-media-'))
    catalog = await startCatalog('images_scan', { media: { directory, scan: 'clamav', clamavUrl: clamd.url } })
  }, 90_000)
  afterAll(async () => {
    await catalog?.close()
    await clamd?.close()
    await rm(directory, { recursive: true, force: true })
  })

  it('rejects an upload that matches a signature, with its name, and passes a clean one', async () => {
    const { owner, productId } = await newProduct(catalog)
    const infected = await upload(catalog, owner, productId, malware, 'image/png')
    expect(await settled(catalog, owner, productId, infected)).toMatchObject({
      status: 'rejected',
      rejectionReason: 'Malware found: Marketmesh.Test.Malware.UNOFFICIAL'
    })
    await uploadGone(catalog, infected)
    const clean = await upload(catalog, owner, productId, await smallPng(67), 'image/png')
    expect((await settled(catalog, owner, productId, clean)).status).toBe('ready')
  })

  it('rejects an upload it could not scan on any attempt (clamd unreachable), never passing it unscanned', async () => {
    const unscanned = await startCatalog('images_noscan', {
      media: { directory, scan: 'clamav', clamavUrl: 'tcp://127.0.0.1:1' },
      sideEffects: { retryDelaysMs: [50] }
    })
    try {
      const { owner, productId } = await newProduct(unscanned)
      const imageId = await upload(unscanned, owner, productId, await smallPng(68), 'image/png')
      expect(await settled(unscanned, owner, productId, imageId)).toMatchObject({
        status: 'rejected',
        rejectionReason: expect.stringMatching(/^The upload could not be checked: /)
      })
      await uploadGone(unscanned, imageId)
    } finally {
      await unscanned.close()
    }
  })

  it('refuses to start with media.scan "clamav" and no clamd URL, as production does by default', () => {
    expect(() => createApp({ ...catalog.settings, media: { directory, scan: 'clamav', clamavUrl: '' } })).toThrow(/MEDIA_CLAMAV_URL.*MEDIA_SCAN=off/)
  })
})
