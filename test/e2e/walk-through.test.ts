import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtpServer } from '@marketmesh/test-support/smtp'
import { waitFor } from '@marketmesh/test-support'
import { createAdmin, meshEnvironment, startMesh, type Mesh } from '@marketmesh/test-support/mesh'
import { promisedOutput, runWalkThrough, walkThroughScript } from './walk-through-script'

// The password the walk-through's script and its create-admin step use.
const PASSWORD = 'correct horse battery staple'

describe("docs/walk-through.md's script, on a fresh mesh as after `npm start`", () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>
  let mesh: Mesh

  beforeAll(async () => {
    smtp = await startSmtpServer()
    mesh = await startMesh(meshEnvironment('walk', { envOf: { notify: { SMTP_URL: smtp.url } } }))
    // The walk-through has the admin made first, with the CLI.
    await createAdmin(mesh.env.user, { email: 'root@example.com', name: 'Root', password: PASSWORD })
  }, 180_000)

  afterAll(async () => {
    await mesh?.stop()
    await smtp?.close()
  }, 120_000)

  it('runs as written, and again, printing what its comments say; the mails it names go out', async () => {
    const script = walkThroughScript(mesh.urls)
    const promised = promisedOutput(script)
    expect(promised.length).toBeGreaterThanOrEqual(4)
    const heardTypes = ['user.registered', 'order.created', 'order.paid', 'order.shipped', 'order.delivered', 'order.completed', 'announcement']
    for (const round of ['first', 'second']) {
      const printed = (await runWalkThrough(script)).split('\n')
      for (const line of promised) expect(printed, round).toContain(line)
      const heard = printed
        .find((line) => line.startsWith('buyer heard '))!
        .split(' ')
        .slice(2)
      // Announcements are for everyone: the second run's buyer also hears the first run's.
      if (round === 'first') expect([...heard].sort()).toEqual([...heardTypes].sort())
      else expect(new Set(heard)).toEqual(new Set(heardTypes))
    }

    // Each run's addresses are its own (`bea+<run>@example.com`), and its mails alike.
    const mail = () =>
      smtp.received.map((received) => `${received.to.replace(/\+[0-9a-z]+@/, '@')}: ${received.subject.replace(/ [0-9a-f-]{36}/, ' <order>')}`).sort()
    const ofOneRun = [
      'bea@example.com: Welcome to marketmesh, Bea Buyer',
      'bea@example.com: Your order from Oak & Iron is confirmed',
      'bea@example.com: Your order <order> is on its way',
      'olga@example.com: Welcome to marketmesh, Olga Oakley',
      'olga@example.com: New order <order>: €250.00'
    ]
    const expected = [...ofOneRun, ...ofOneRun, 'root@example.com: Welcome to marketmesh, Root'].sort()
    await waitFor(() => expected.every((line) => mail().includes(line)) && mail().length >= expected.length, { what: 'the mails of both runs' })
    expect(mail()).toEqual(expected)
  })
})
