import { runPeriodically, type ServiceApplication } from '@marketmesh/shared'
import { purgeAccountTokens } from './account-tokens'
import { purgeSessions } from './authentication/sessions'

const PURGE_INTERVAL_MS = 15 * 60_000

/** Deletes the rows no request needs any more; answers how many of each kind. */
export const purgeExpired = async (app: ServiceApplication) => ({
  refreshTokens: await purgeSessions(app.get('postgresqlClient')),
  accountTokens: await purgeAccountTokens(app.get('postgresqlClient'))
})

/** Runs `purgeExpired` every 15 minutes while the app is up, logging what it deleted. */
export const housekeeping = (app: ServiceApplication) =>
  runPeriodically(app, 'purge', PURGE_INTERVAL_MS, async () => {
    const purged = await purgeExpired(app)
    if (Object.values(purged).some((count) => count > 0)) app.get('logger').info({ purged }, 'purged expired rows')
  })
