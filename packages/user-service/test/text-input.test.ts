import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUserService, type UserServiceUnderTest } from './helpers'

let service: UserServiceUnderTest
beforeAll(async () => {
  service = await startUserService('text_input')
})
afterAll(() => service.stop())

const valid = { password: 'long enough password', role: 'seller', name: 'Ada Lovelace', shopName: 'Oak & Iron' }
let registered = 0
const register = (body: Record<string, unknown>) =>
  service.http('POST', '/users', { body: { ...valid, email: `text${++registered}@example.com`, ...body } })

describe('free text in users and devices', () => {
  it('refuses control and invisible characters in names with a 400 naming the field, and stores nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'Ada\u001bp022' }, 'Invalid name: must not contain U+001B (a control character)'],
      [{ name: 'Ada\nLovelace' }, 'Invalid name: must not contain U+000A (a line break)'],
      [{ shopName: 'Oak\u202e & Iron' }, 'Invalid shopName: must not contain U+202E (an invisible format character)'],
      [{ shopName: 'Oak\u200b & Iron' }, 'Invalid shopName: must not contain U+200B (an invisible format character)'],
      [{ shopDescription: 'Solid oak.\u0085' }, 'Invalid shopDescription: must not contain U+0085 (a control character)']
    ]
    for (const [body, message] of cases) {
      const response = await register(body)
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(response.body.message).toBe(message)
    }
    expect(await service.app.get('postgresqlClient')('users').where('email', 'like', 'text%')).toEqual([])
  })

  it('takes names in any script and a shop description of several lines', async () => {
    const response = await register({ name: 'می‌خواهم 👩‍💻', shopName: 'Käse & Co.', shopDescription: 'Cheese.\n\nSince 1910.' })
    expect(response.status).toBe(201)
    expect(response.body).toMatchObject({ name: 'می‌خواهم 👩‍💻', shopName: 'Käse & Co.', shopDescription: 'Cheese.\n\nSince 1910.' })
  })

  it('refuses them in a changed name and in a device name', async () => {
    const { user, accessToken: token } = await service.signUp('seller')
    const renamed = await service.http('PATCH', `/users/${user.id}`, { token, body: { name: 'Ada\u001dV1' } })
    expect(renamed.status).toBe(400)
    expect(renamed.body.message).toBe('Invalid name: must not contain U+001D (a control character)')
    const device = await service.http('POST', '/devices', { token, body: { name: 'Desk\u2066printer' } })
    expect(device.status).toBe(400)
    expect(device.body.message).toBe('Invalid name: must not contain U+2066 (an invisible format character)')
  })
})
