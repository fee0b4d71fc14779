// The same client from a CommonJS module of the app: require() gets the CommonJS build and its
// type definitions (pack.test.ts type-checks this file with consumer.ts, and runs it).
import marketmesh = require('@marketmesh/client')

const mm: marketmesh.MarketmeshClient = marketmesh.createMarketmeshClient({ baseUrl: 'http://localhost:3030' })
console.log(JSON.stringify({ exports: Object.keys(marketmesh).sort(), client: Object.keys(mm).sort() }))
