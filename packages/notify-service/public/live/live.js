// The seller's live orders page: signs in at user-service, then watches the shop's stream
// (GET /stream through EventSource) for orders, print jobs and buyers' messages about orders (answered
// from the order's card), lists the shop's printers, shows its earnings from order-service (GET /ledger),
// read again when money moves, and beside each order line its product's first image from catalog-service.
// Plain browser JavaScript, served as it is: no build step.

const ORDER_EVENTS = [
  'order.created',
  'order.paid',
  'order.rejected',
  'order.cancelled',
  'order.shipped',
  'order.delivered',
  'order.completed',
  'order.refunded'
]
const PRINT_EVENTS = ['print.job', 'print.job.updated']
const PAYOUT_EVENTS = ['payout.paid', 'payout.failed', 'payout.reversed']
// What moves the shop's money: paid into escrow, released, refunded, paid out (or back).
const EARNINGS_EVENTS = ['order.paid', 'order.completed', 'order.refunded', ...PAYOUT_EVENTS]
// Events of one order may arrive in any order: a status only ever moves forward on this scale.
const STATUS_RANK = { pending: 0, paid: 1, shipped: 2, delivered: 3, completed: 4, rejected: 5, cancelled: 5 }
const STATUS_OF_EVENT = {
  'order.created': 'pending',
  'order.paid': 'paid',
  'order.rejected': 'rejected',
  'order.cancelled': 'cancelled',
  'order.shipped': 'shipped',
  'order.delivered': 'delivered',
  'order.completed': 'completed'
}
const PRINTERS_REFRESH_MS = 15_000
// Refresh the access token this long before it expires, so the stream is reopened in time.
const REFRESH_AHEAD_MS = 60_000
const SESSION_KEY = 'marketmesh.live.session'

const $ = (selector) => document.querySelector(selector)
const config = await fetch('/live/config.json').then((response) => response.json())

let session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null')
let stream
let lastEventId
let refreshTimer
let printersTimer
const orders = new Map()
// The shop's conversations about orders, by id: { id, orderId, unread, messages }.
const conversations = new Map()
// The latest messages of a conversation a card shows.
const MESSAGES_SHOWN = 50

const money = (amount, currency) => new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount / 100)
const shortId = (id) => id.slice(0, 8).toUpperCase()

const saveSession = (value) => {
  session = value
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value))
  else sessionStorage.removeItem(SESSION_KEY)
}

const authenticate = async (body) => {
  const response = await fetch(`${config.userServiceUrl}/authentication`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body)
  })
  const answer = await response.json()
  if (!response.ok) throw new Error(answer.message ?? `Sign-in failed (${response.status})`)
  return answer
}

const api = async (method, path, body) => {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${session.accessToken}`, ...(body && { 'Content-Type': 'application/json' }) },
    body: body && JSON.stringify(body)
  })
  const answer = await response.json()
  if (response.status === 401) {
    await refreshSession()
    return api(method, path, body)
  }
  if (!response.ok) throw new Error(answer.message ?? `${method} ${path} failed (${response.status})`)
  return answer
}

const expiresAt = (token) => JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000

const refreshSession = async () => {
  try {
    const answer = await authenticate({ strategy: 'refresh', refreshToken: session.refreshToken })
    saveSession({ accessToken: answer.accessToken, refreshToken: answer.refreshToken, user: session.user })
  } catch {
    signOut('Your session has ended: please sign in again.')
    throw new Error('signed out')
  }
  scheduleRefresh()
  openStream()
}

const scheduleRefresh = () => {
  clearTimeout(refreshTimer)
  const inMs = Math.max(expiresAt(session.accessToken) - Date.now() - REFRESH_AHEAD_MS, 1_000)
  refreshTimer = setTimeout(() => refreshSession().catch(() => undefined), inMs)
}

// --- orders --------------------------------------------------------------------------------

const orderOf = (orderId) => {
  let order = orders.get(orderId)
  if (!order) {
    order = { id: orderId, status: 'pending', jobs: new Map(), refunded: false }
    orders.set(orderId, order)
  }
  return order
}

const applyOrderEvent = (type, data) => {
  const order = orderOf(data.orderId)
  const status = STATUS_OF_EVENT[type]
  if (status && STATUS_RANK[status] > STATUS_RANK[order.status]) order.status = status
  if (type === 'order.refunded') order.refunded = true
  if (data.lines) order.lines = data.lines
  for (const field of ['total', 'currency', 'buyerName', 'placedAt', 'trackingNumber']) if (data[field] !== undefined) order[field] = data[field]
  order.placedAt ??= data.createdAt
  return order
}

const applyPrintEvent = (data) => {
  const order = orderOf(data.orderId)
  const job = order.jobs.get(data.jobId) ?? { id: data.jobId, copy: data.copy, status: 'queued' }
  if (data.status) job.status = data.status
  if (data.error !== undefined) job.error = data.error
  order.jobs.set(job.id, job)
  return order
}

const printStateText = (order) => {
  const jobs = [...order.jobs.values()]
  if (jobs.length === 0) return order.status === 'pending' ? '' : 'No print job yet'
  return jobs.map((job) => `${job.copy ? 'Copy' : 'Receipt'}: ${job.status}${job.error ? ` (${job.error})` : ''}`).join(' · ')
}

const renderOrder = (order, { isNew = false } = {}) => {
  let item = document.getElementById(`order-${order.id}`)
  if (!item) {
    item = $('#order-template').content.firstElementChild.cloneNode(true)
    item.id = `order-${order.id}`
    item.dataset.orderId = order.id
    item.querySelector('.reprint').addEventListener('click', () => reprint(order.id, item))
    item.querySelector('.answer').addEventListener('submit', (event) => {
      event.preventDefault()
      answer(order.id, item)
    })
    $('#orders').prepend(item)
    if (isNew) item.classList.add('new')
  }
  item.querySelector('.order-number').textContent = `Order ${shortId(order.id)}`
  const status = item.querySelector('.order-status')
  status.textContent = order.refunded ? `${order.status}, refunded` : order.status
  status.className = `badge order-status status-${order.status}`
  const when = order.placedAt ? new Date(order.placedAt).toLocaleString() : ''
  item.querySelector('.order-summary').textContent = [order.buyerName, order.total !== undefined && money(order.total, order.currency), when]
    .filter(Boolean)
    .join(' · ')
  item.querySelector('.order-lines').replaceChildren(
    ...(order.lines ?? []).map((line) => {
      const li = document.createElement('li')
      li.dataset.productId = line.productId
      const thumb = thumbs.get(line.productId)
      // An empty frame where there is no image (yet), so that the titles line up.
      const image = document.createElement(thumb ? 'img' : 'span')
      image.className = 'line-thumb'
      if (thumb) {
        image.src = thumb
        // Beside the line's title, which says what it shows.
        image.alt = ''
      }
      li.append(image, `${line.quantity} × ${line.title}`)
      return li
    })
  )
  askForThumbs(order.lines ?? [])
  const printState = item.querySelector('.print-state')
  printState.textContent = printStateText(order)
  const latest = [...order.jobs.values()].at(-1)
  printState.className = `print-state ${latest ? `job-${latest.status}` : ''}`
  // A receipt exists once the order is paid; before that there is nothing to reprint.
  item.querySelector('.reprint').hidden = STATUS_RANK[order.status] < 1 || STATUS_RANK[order.status] === 5
  renderConversation(order, item)
  $('#no-orders').hidden = orders.size > 0
}

const reprint = async (orderId, item) => {
  const button = item.querySelector('.reprint')
  button.disabled = true
  try {
    applyPrintEvent(await api('POST', '/print-jobs', { orderId }).then((job) => ({ ...job, jobId: job.id ?? job.jobId })))
    renderOrder(orders.get(orderId))
  } catch (error) {
    item.querySelector('.print-state').textContent = error.message
  } finally {
    button.disabled = false
  }
}

// --- the ordered products' images ---------------------------------------------------------

// The order events name each line's product, not its images: catalog-service knows them, and an
// image's URL carries the hash of its bytes, which only catalog-service has. So the page asks it,
// once per product and page load, for the products of the orders it shows, 20 at a time
// (GET /products?id[$in]=…, as the seller: their own products, archived ones too), and shows each
// product's first ready image, 200 px wide. A product without one, or deleted since, shows none.
const THUMBS_PER_REQUEST = 20
// productId → the thumb's URL, or null: asked for and none.
const thumbs = new Map()
const thumbsWanted = new Set()
let thumbsTimer

const askForThumbs = (lines) => {
  for (const { productId } of lines) if (productId && !thumbs.has(productId)) thumbsWanted.add(productId)
  // The orders rendered in one go (the log replayed at start) are asked for together.
  if (thumbsWanted.size > 0) thumbsTimer ??= setTimeout(() => loadThumbs().catch(() => undefined), 0)
}

const loadThumbs = async () => {
  thumbsTimer = undefined
  const productIds = [...thumbsWanted]
  thumbsWanted.clear()
  for (const productId of productIds) thumbs.set(productId, null)
  const found = new Set()
  for (let start = 0; start < productIds.length; start += THUMBS_PER_REQUEST) {
    const chunk = productIds.slice(start, start + THUMBS_PER_REQUEST)
    const query = new URLSearchParams({ $limit: String(chunk.length) })
    chunk.forEach((productId, index) => query.append(`id[$in][${index}]`, productId))
    const response = await fetch(`${config.catalogServiceUrl}/products?${query}`, {
      headers: { Authorization: `Bearer ${session.accessToken}` }
    }).catch(() => undefined)
    if (!response?.ok) {
      // Asked again when an order of theirs is next shown.
      for (const productId of chunk) thumbs.delete(productId)
      continue
    }
    const answer = await response.json()
    for (const product of Array.isArray(answer) ? answer : answer.data) {
      const image = (product.images ?? []).find((one) => one.status === 'ready')
      // catalog-service's own /media paths are relative to it; a CDN's URLs are whole.
      if (!image) continue
      thumbs.set(product.id, new URL(image.urls.thumb, config.catalogServiceUrl).href)
      found.add(product.id)
    }
  }
  for (const order of orders.values()) if (order.lines?.some((line) => found.has(line.productId))) renderOrder(order)
}

// --- conversations with buyers ---------------------------------------------------------------

const conversationOfOrder = (orderId) => [...conversations.values()].find((conversation) => conversation.orderId === orderId)

// Text, never HTML: a message is shown exactly as written (line breaks kept by CSS).
const renderConversation = (order, item) => {
  const conversation = conversationOfOrder(order.id)
  const section = item.querySelector('.conversation')
  section.hidden = !conversation
  if (!conversation) return
  const unread = item.querySelector('.unread')
  unread.hidden = conversation.unread === 0
  unread.textContent = `${conversation.unread} unread`
  item.querySelector('.messages').replaceChildren(
    ...conversation.messages.slice(-MESSAGES_SHOWN).map((message) => {
      const li = document.createElement('li')
      li.className = `message from-${message.senderRole}${message.hidden ? ' removed' : ''}`
      li.textContent = message.hidden ? 'This message was removed.' : `${message.senderRole === 'buyer' ? 'Buyer' : 'You'}: ${message.body}`
      return li
    })
  )
}

const loadConversation = async (id) => {
  const conversation = await api('GET', `/conversations/${id}`)
  if (conversation.subject.type !== 'order') return
  const { total } = await api('GET', `/conversations/${id}/messages?$limit=0`)
  const page = await api('GET', `/conversations/${id}/messages?$limit=${MESSAGES_SHOWN}&$skip=${Math.max(0, total - MESSAGES_SHOWN)}`)
  conversations.set(id, { id, orderId: conversation.subject.id, unread: conversation.unread, messages: page.data })
  renderOrder(orderOf(conversation.subject.id))
}

const loadConversations = async () => {
  conversations.clear()
  const { data } = await api('GET', '/conversations?$limit=100')
  await Promise.all(data.filter(({ subject }) => subject.type === 'order').map(({ id }) => loadConversation(id)))
}

// A new message, or a hidden one again (same id): shown in place; a buyer's new one is unread.
const applyMessage = ({ conversationId, message }, { isNew }) => {
  const conversation = conversations.get(conversationId)
  if (!conversation) {
    if (isNew) loadConversation(conversationId).catch(() => undefined)
    return
  }
  const index = conversation.messages.findIndex(({ id }) => id === message.id)
  if (index >= 0) conversation.messages[index] = message
  else {
    conversation.messages.push(message)
    if (isNew && message.senderRole === 'buyer') conversation.unread++
  }
  renderOrder(orderOf(conversation.orderId))
}

// Answering marks the conversation read (the server does the same).
const answer = async (orderId, item) => {
  const conversation = conversationOfOrder(orderId)
  const form = item.querySelector('.answer')
  const body = form.elements.body.value
  form.querySelector('button').disabled = true
  item.querySelector('.answer-error').textContent = ''
  try {
    const message = await api('POST', `/conversations/${conversation.id}/messages`, { body })
    form.elements.body.value = ''
    conversation.unread = 0
    applyMessage({ conversationId: conversation.id, message }, { isNew: false })
  } catch (error) {
    item.querySelector('.answer-error').textContent = error.message
  } finally {
    form.querySelector('button').disabled = false
  }
}

// --- earnings -------------------------------------------------------------------------------

// order-service's GET /ledger: what is in escrow, available and paid out, per currency. Not
// through api(): a refusal there is not a reason to refresh the session and reopen the stream.
const loadEarnings = async () => {
  const response = await fetch(`${config.orderServiceUrl}/ledger`, { headers: { Authorization: `Bearer ${session.accessToken}` } }).catch(
    () => undefined
  )
  if (!response?.ok) return
  const ledger = await response.json()
  const balances = ledger.balances ?? []
  $('#no-earnings').hidden = balances.length > 0
  $('#earnings').hidden = balances.length === 0
  $('#earnings tbody').replaceChildren(
    ...balances.map((balance) => {
      const row = document.createElement('tr')
      row.dataset.currency = balance.currency
      for (const text of [balance.currency, ...[balance.held, balance.available, balance.paidOut].map((amount) => money(amount, balance.currency))]) {
        const cell = document.createElement('td')
        cell.textContent = text
        row.append(cell)
      }
      return row
    })
  )
  const failed = (ledger.orders ?? []).filter((order) => order.payoutStatus === 'failed').length
  $('#payout-problems').textContent = failed > 0 ? `${failed} payout${failed === 1 ? '' : 's'} failed: check your payout account.` : ''
}

// --- printers and announcements -------------------------------------------------------------

const loadPrinters = async () => {
  const answer = await api('GET', '/printers').catch(() => undefined)
  if (!answer) return
  const printers = Array.isArray(answer) ? answer : answer.data
  $('#no-printers').hidden = printers.length > 0
  $('#printers').replaceChildren(
    ...printers.map((printer) => {
      const li = document.createElement('li')
      li.dataset.printerId = printer.id
      const seen = printer.lastSeenAt ? `, last seen ${new Date(printer.lastSeenAt).toLocaleString()}` : ''
      li.innerHTML = '<strong></strong> <span class="badge"></span> <small></small>'
      li.querySelector('strong').textContent = printer.name
      li.querySelector('.badge').textContent = printer.online ? 'online' : 'offline'
      li.querySelector('.badge').classList.add(printer.online ? 'online' : 'offline')
      li.querySelector('small').textContent = `${printer.transport ?? ''}${seen}`
      return li
    })
  )
}

const showAnnouncement = (data) => {
  const note = document.createElement('p')
  note.className = `announcement ${data.level ?? 'info'}`
  note.textContent = data.message
  $('#announcements').append(note)
}

// --- the stream -----------------------------------------------------------------------------

const handle = (type, data, { isNew }) => {
  if (type === 'announcement') return showAnnouncement(data)
  if (type === 'message') return applyMessage(data, { isNew })
  // The log replayed at start does not ask for them each: loadAll reads them once.
  if (isNew && EARNINGS_EVENTS.includes(type)) loadEarnings()
  if (PRINT_EVENTS.includes(type)) return renderOrder(applyPrintEvent(data))
  if (ORDER_EVENTS.includes(type)) {
    const known = orders.has(data.orderId)
    renderOrder(applyOrderEvent(type, data), { isNew: isNew && !known })
  }
}

const setConnection = (text) => ($('#connection').textContent = text)

const openStream = () => {
  stream?.close()
  const query = new URLSearchParams({ token: session.accessToken, ...(lastEventId !== undefined && { lastEventId: String(lastEventId) }) })
  stream = new EventSource(`/stream?${query}`)
  stream.onopen = () => setConnection('live')
  stream.onerror = () => {
    // EventSource retries a dropped connection itself; a refused one (expired token) it closes.
    if (stream.readyState === EventSource.CLOSED) refreshSession().catch(() => undefined)
    else setConnection('reconnecting…')
  }
  const onMessage = (message) => {
    lastEventId = Number(message.lastEventId)
    handle(message.type, JSON.parse(message.data), { isNew: true })
  }
  for (const type of [...ORDER_EVENTS, ...PRINT_EVENTS, ...PAYOUT_EVENTS, 'announcement', 'message']) stream.addEventListener(type, onMessage)
  // What was missed is no longer kept: start over from the current state.
  stream.addEventListener('resync', () => {
    lastEventId = undefined
    loadAll()
  })
}

const loadAll = async () => {
  orders.clear()
  $('#orders').replaceChildren()
  // The log, newest first: replayed oldest first so that each order's events apply in order.
  const recent = await api('GET', '/notifications?$limit=100')
  const notifications = [...recent.data].reverse()
  lastEventId = notifications.at(-1)?.id
  for (const { type, data } of notifications) handle(type, data, { isNew: false })
  await loadConversations()
  $('#no-orders').hidden = orders.size > 0
  await Promise.all([loadPrinters(), loadEarnings()])
  openStream()
}

// --- signing in and out ---------------------------------------------------------------------

const showSignedIn = () => {
  $('#sign-in-section').hidden = true
  $('#live').hidden = false
  $('#who').hidden = false
  $('#who').textContent = session.user.shopName ?? session.user.name
  $('#sign-out').hidden = false
  scheduleRefresh()
  clearInterval(printersTimer)
  printersTimer = setInterval(loadPrinters, PRINTERS_REFRESH_MS)
  loadAll().catch((error) => setConnection(error.message))
}

function signOut(message = '') {
  stream?.close()
  clearTimeout(refreshTimer)
  clearInterval(printersTimer)
  saveSession(null)
  $('#live').hidden = true
  $('#who').hidden = true
  $('#sign-out').hidden = true
  $('#sign-in-section').hidden = false
  $('#sign-in-error').textContent = message
}

$('#sign-in').addEventListener('submit', async (event) => {
  event.preventDefault()
  $('#sign-in-error').textContent = ''
  try {
    const answer = await authenticate({ strategy: 'local', email: $('#email').value, password: $('#password').value })
    if (answer.user.role !== 'seller') throw new Error('This page is for sellers: sign in with your shop account.')
    saveSession({ accessToken: answer.accessToken, refreshToken: answer.refreshToken, user: answer.user })
    showSignedIn()
  } catch (error) {
    $('#sign-in-error').textContent = error.message
  }
})
$('#sign-out').addEventListener('click', () => signOut())

if (session) showSignedIn()
