// Writes src/schema-types.ts: the client's data types, generated from the TypeBox schemas the
// services validate with (their built lib/), so an app is typed by exactly what the servers accept
// and the package carries no server code, not even in its type definitions.
// `npm run build && npm run generate -w @marketmesh/client`; a test checks the file is up to date.
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compile } from 'json-schema-to-typescript'
import prettier from 'prettier'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))
const packages = join(here, '..', '..')
export const TYPES_FILE = join(here, '..', 'src', 'schema-types.ts')

const schemasOf = (service, name) => require(join(packages, `${service}-service`, 'lib', 'src', 'services', name, `${name}.schema.js`))

/**
 * Each type: its schema, and for an answer the fields its service's external resolver takes out
 * (`hidden`: never sent; `sometimes`: sent to some callers only). The resolver named with them
 * must resolve those fields, or the generation fails: the list cannot go stale unnoticed. `titles`
 * names a field's sub-schema, so that the type is declared once under that name.
 */
const types = () => {
  const users = schemasOf('user', 'users')
  const devices = schemasOf('user', 'devices')
  const passwordResets = schemasOf('user', 'password-resets')
  const emailVerifications = schemasOf('user', 'email-verifications')
  const categories = schemasOf('catalog', 'categories')
  const products = schemasOf('catalog', 'products')
  const productImages = schemasOf('catalog', 'product-images')
  const reviews = schemasOf('catalog', 'reviews')
  const search = schemasOf('catalog', 'search')
  const checkouts = schemasOf('order', 'checkouts')
  const orders = schemasOf('order', 'orders')
  const refunds = schemasOf('order', 'refunds')
  const ledger = schemasOf('order', 'ledger')
  const payoutAccounts = schemasOf('order', 'payout-accounts')
  const payouts = schemasOf('order', 'payouts')
  const notifications = schemasOf('notify', 'notifications')
  const announcements = schemasOf('notify', 'announcements')
  const printJobs = schemasOf('notify', 'print-jobs')
  const printers = schemasOf('notify', 'printers')
  const conversations = schemasOf('notify', 'conversations')
  const conversationMessages = schemasOf('notify', 'conversation-messages')
  const { printJobMessageSchema } = require('@marketmesh/receipts')
  // The receipt a job carries, declared once under its name.
  const titles = { receipt: 'Receipt' }
  return [
    { schema: users.userSchema, resolver: users.userExternalResolver, hidden: ['password'] },
    { schema: users.userDataSchema },
    { schema: users.userPatchSchema },
    { schema: users.userQuerySchema, name: 'UserQuery' },
    { schema: devices.deviceSchema, resolver: devices.deviceExternalResolver, hidden: ['tokenHash'] },
    { schema: devices.deviceDataSchema },
    { schema: devices.deviceQuerySchema, name: 'DeviceQuery' },
    { schema: passwordResets.passwordResetDataSchema },
    { schema: passwordResets.passwordResetSchema },
    { schema: passwordResets.passwordResetConfirmationDataSchema },
    { schema: passwordResets.passwordResetConfirmationSchema },
    { schema: emailVerifications.emailVerificationSchema },
    { schema: emailVerifications.emailVerificationConfirmationDataSchema },
    { schema: emailVerifications.emailVerificationConfirmationSchema },
    { schema: categories.categorySchema },
    { schema: categories.categoryDataSchema },
    { schema: categories.categoryPatchSchema },
    { schema: categories.categoryQuerySchema, name: 'CategoryQuery' },
    { schema: products.productSchema },
    { schema: products.productDataSchema },
    { schema: products.productPatchSchema },
    { schema: products.productQuerySchema, name: 'ProductQuery' },
    { schema: productImages.productImageSchema },
    { schema: productImages.productImageDataSchema },
    { schema: productImages.productImagePatchSchema },
    { schema: productImages.uploadTicketSchema },
    { schema: reviews.reviewSchema, resolver: reviews.reviewExternalResolver, sometimes: ['buyerId', 'orderId'] },
    { schema: reviews.reviewDataSchema },
    { schema: reviews.reviewQuerySchema, name: 'ReviewQuery' },
    { schema: search.searchQuerySchema },
    { schema: search.searchResultSchema },
    { schema: checkouts.checkoutDataSchema },
    { schema: checkouts.checkoutSchema },
    { schema: orders.orderSchema },
    { schema: orders.orderPatchSchema },
    { schema: orders.orderQuerySchema, name: 'OrderQuery' },
    { schema: refunds.refundSchema, resolver: refunds.refundExternalResolver, sometimes: ['by', 'refundReference'] },
    { schema: refunds.refundDataSchema },
    { schema: refunds.refundQuerySchema, name: 'RefundQuery' },
    { schema: ledger.ledgerViewSchema },
    { schema: ledger.ledgerQuerySchema, name: 'LedgerQuery' },
    { schema: payoutAccounts.payoutAccountSchema, resolver: payoutAccounts.payoutAccountExternalResolver, sometimes: ['accountId'] },
    { schema: payoutAccounts.payoutAccountDataSchema },
    { schema: payoutAccounts.payoutAccountQuerySchema, name: 'PayoutAccountQuery' },
    { schema: payouts.payoutSchema },
    { schema: payouts.payoutQuerySchema, name: 'PayoutQuery' },
    { schema: notifications.notificationSchema },
    { schema: notifications.notificationQuerySchema, name: 'NotificationQuery' },
    { schema: announcements.announcementSchema, resolver: announcements.announcementExternalResolver },
    { schema: announcements.announcementDataSchema },
    { schema: announcements.announcementQuerySchema, name: 'AnnouncementQuery' },
    { schema: printJobs.printJobSchema, titles },
    { schema: printJobs.printJobDataSchema },
    { schema: printJobs.printJobPatchSchema },
    { schema: printJobs.printJobQuerySchema, name: 'PrintJobQuery' },
    { schema: printJobs.printJobUpdateMessageSchema },
    { schema: printJobMessageSchema, name: 'PrintJobMessage', titles },
    { schema: printers.printerSchema },
    { schema: printers.printerQuerySchema, name: 'PrinterQuery' },
    { schema: conversations.conversationSchema },
    { schema: conversations.conversationDataSchema },
    { schema: conversations.conversationPatchSchema },
    { schema: conversations.conversationQuerySchema },
    { schema: conversationMessages.messageSchema },
    { schema: conversationMessages.messageDataSchema },
    { schema: conversationMessages.messagePatchSchema },
    { schema: conversationMessages.messageQuerySchema }
  ]
}

const pascal = (type) =>
  type
    .split(/[._-]/)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('')

// A copy without TypeBox's symbol keys that keeps shared sub-schemas shared (structuredClone keeps
// the object graph), so that a query's filter, used three times, is declared once.
const plain = (schema) => structuredClone(schema)

const withoutFields = (schema, fields, how) => {
  for (const field of fields) {
    if (!(field in schema.properties)) throw new Error(`${schema.$id} has no field ${field}`)
    if (how === 'hidden') delete schema.properties[field]
    schema.required = (schema.required ?? []).filter((name) => name !== field)
  }
}

const checkResolver = ({ schema, resolver, hidden = [], sometimes = [] }) => {
  const resolved = resolver?.propertyNames ?? []
  for (const field of [...hidden, ...sometimes]) {
    if (!resolved.includes(field))
      throw new Error(`The external resolver of ${schema.$id} does not resolve ${field}: update scripts/generate-types.mjs`)
  }
}

// `Type.Record` is a pattern property; as `additionalProperties` it becomes a plain index signature.
const recordsAsIndexSignatures = (node) => {
  if (!node || typeof node !== 'object') return
  if (node.patternProperties?.['^.*$'] && !node.properties) {
    node.additionalProperties = node.patternProperties['^.*$']
    delete node.patternProperties
  }
  for (const value of Object.values(node)) recordsAsIndexSignatures(value)
}

// A query's filter (the items of publicQuerySyntax's $or, also in its $and and, merged, at its top)
// is declared once, as <Name>Filter, and referred to by name (json-schema-to-typescript's tsType):
// the query is its $-parameters and the filter.
const splitQueryFilter = (schema, name) => {
  const filter = schema.properties?.$or?.items
  if (!filter) return { schema }
  const filterName = name.replace(/Query$/, 'Filter')
  const text = JSON.stringify(filter)
  const replace = (node) => {
    if (!node || typeof node !== 'object') return node
    if (JSON.stringify(node) === text) return { tsType: filterName }
    for (const [key, value] of Object.entries(node)) node[key] = replace(value)
    return node
  }
  const parameters = replace({ ...schema, properties: { ...schema.properties } })
  for (const key of Object.keys(filter.properties)) delete parameters.properties[key]
  return { schema: { title: name, allOf: [parameters, { tsType: filterName }] }, filter: { ...JSON.parse(text), title: filterName } }
}

const COMPILE_OPTIONS = { bannerComment: '', additionalProperties: false, ignoreMinAndMaxItems: true, format: false }

const compileType = async (entry) => {
  checkResolver(entry)
  const schema = plain(entry.schema)
  const name = entry.name ?? schema.$id
  if (!name) throw new Error('A generated type needs a name (its schema has no $id)')
  if (entry.hidden) withoutFields(schema, entry.hidden, 'hidden')
  if (entry.sometimes) withoutFields(schema, entry.sometimes, 'sometimes')
  for (const [field, title] of Object.entries(entry.titles ?? {})) schema.properties[field].title = title
  recordsAsIndexSignatures(schema)
  delete schema.$id
  const { schema: query, filter } = splitQueryFilter(schema, name)
  query.title = name
  const declarations = [compile(query, name, COMPILE_OPTIONS)]
  if (filter) declarations.push(compile(filter, filter.title, COMPILE_OPTIONS))
  return (await Promise.all(declarations)).join('\n\n')
}

const compileEvents = async () => {
  const { eventSchemas, EVENT_CONSUMERS } = require('@marketmesh/events')
  const out = []
  // The order and payout events notify-service consumes it streams as they are (see its events/notify-order.ts, notify-payout.ts).
  for (const type of EVENT_CONSUMERS['notify-service'].filter((consumed) => consumed.startsWith('order.') || consumed.startsWith('payout.'))) {
    const schema = plain(eventSchemas[type])
    schema.title = `${pascal(type)}Data`
    out.push(await compile(schema, schema.title, COMPILE_OPTIONS))
  }
  const user = plain(eventSchemas['user.registered'])
  // notify-service keeps the e-mail address and the shop's slug out of the notification.
  withoutFields(user, ['email', 'shopSlug'], 'hidden')
  user.title = 'UserNotificationData'
  out.push(await compile(user, user.title, COMPILE_OPTIONS))
  return out
}

// One declaration per name: a sub-schema with an $id (ShippingAddress, Product in SearchResult) comes with every type that holds it.
const uniqueDeclarations = (sources) => {
  const seen = new Set()
  const out = []
  for (const source of sources) {
    for (const block of source.split(/\n(?=(?:\/\*\*[\s\S]*?\*\/\n)?export )/)) {
      const name = /^(?:\/\*\*[\s\S]*?\*\/\n)?export (?:interface|type) (\w+)/.exec(block.trim())?.[1]
      if (name && seen.has(name)) continue
      if (name) seen.add(name)
      out.push(block.trim())
    }
  }
  return out.join('\n\n')
}

export const generateTypes = async () => {
  const sources = [...(await Promise.all(types().map(compileType))), ...(await compileEvents())]
  const banner =
    "// Generated by scripts/generate-types.mjs from the services' TypeBox schemas and the event catalog: do not edit.\n" +
    '// `npm run build && npm run generate -w @marketmesh/client` after a schema changes.\n'
  const config = await prettier.resolveConfig(TYPES_FILE)
  return prettier.format(`${banner}\n${uniqueDeclarations(sources)}\n`, { ...config, parser: 'typescript' })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(TYPES_FILE, await generateTypes())
  process.stdout.write(`wrote ${TYPES_FILE}\n`)
}
