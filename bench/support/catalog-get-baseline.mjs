// The baseline of bench/catalog-get: a bare Koa + pg server answering GET /products/:id with the
// same SQL catalog-service runs for an anonymous caller. Usage: node catalog-get-baseline.mjs <port> <database-url>
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const Koa = require('koa')
const pg = require('pg')

const [port, connectionString] = process.argv.slice(2)
pg.types.setTypeParser(pg.types.builtins.INT8, Number)
const pool = new pg.Pool({ connectionString, max: Number(process.env.DATABASE_POOL_MAX ?? 10) })

const columns = [
  'id',
  'sellerId',
  'parentId',
  'title',
  'description',
  'price',
  'currency',
  'stock',
  'categoryId',
  'attributes',
  'status',
  'ratingCount',
  'rating',
  'ratingQuality',
  'ratingValue',
  'ratingDelivery',
  'createdAt',
  'updatedAt',
  'version'
]
const sql = `
  SELECT ${columns.map((column) => `"products"."${column}"`).join(', ')},
         (SELECT "shopName" FROM sellers WHERE sellers.id = products."sellerId") AS "shopName"
  FROM "products"
  WHERE "products"."id" = $1 AND "products"."deletedAt" IS NULL
    AND ("products"."status" = 'active' AND NOT "products"."sellerDisabled")`

const app = new Koa()
app.use(async (ctx) => {
  const match = /^\/products\/([0-9a-f-]{36})$/.exec(ctx.path)
  if (ctx.method !== 'GET' || !match) {
    ctx.status = 404
    return
  }
  const { rows } = await pool.query(sql, [match[1]])
  if (rows.length === 0) {
    ctx.status = 404
    ctx.body = { name: 'NotFound', message: `No record found for id '${match[1]}'`, code: 404 }
    return
  }
  ctx.body = rows[0]
})
app.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'))
