import { isAbsolute, join } from 'node:path'
import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { answersPath, packageRoot, SettingsError, type ServiceApplication } from '@marketmesh/shared'
import { LocalStorage, MEDIA_PATH } from './local-storage'
import { mediaRoute } from './media-route'
import { S3Storage } from './s3-storage'
import { ClamavScanner, type MalwareScanner } from './scanner'
import type { MediaStorage } from './storage'

const DEVELOPMENT_SIGNING_KEY = 'marketmesh-development-media-signing-key'

/** The scanner the settings ask for; none when scanning is off (`auto` without a clamd URL). */
const scannerOf = ({ scan, clamavUrl }: ServiceApplication['settings']['media']): MalwareScanner | undefined => {
  if (scan === 'clamav' && !clamavUrl) {
    throw new SettingsError(
      'setting "media.clamavUrl" (env MEDIA_CLAMAV_URL): required with media.scan "clamav" (the production default); MEDIA_SCAN=off runs without a malware scan'
    )
  }
  return scan !== 'off' && clamavUrl ? new ClamavScanner(clamavUrl) : undefined
}

/**
 * The images' store (S3 when `media.s3.bucket` is set, else the local folder, whose uploads and
 * files this service answers at `/media`) and the malware scanner, as `app.get('mediaStorage')` and
 * `app.get('malwareScanner')`.
 */
export const media = (app: ServiceApplication) => {
  const settings = app.get('media')
  let storage: MediaStorage
  if (settings.s3.bucket) {
    storage = new S3Storage(settings.s3)
  } else {
    if (process.env.NODE_ENV === 'production' && settings.signingKey === DEVELOPMENT_SIGNING_KEY) {
      throw new SettingsError('setting "media.signingKey" (env MEDIA_SIGNING_KEY): the development key is refused in production')
    }
    const directory = isAbsolute(settings.directory) ? settings.directory : join(packageRoot(__dirname), settings.directory)
    storage = new LocalStorage(directory, settings.signingKey)
  }
  app.set('mediaStorage', storage)
  app.set('malwareScanner', scannerOf(settings))
  app.use(mediaRoute(app, storage))
  answersPath(app, MEDIA_PATH)
  app.hooks({
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        storage.close()
      }
    ]
  })
}

declare module '@marketmesh/shared' {
  interface ServiceConfiguration {
    mediaStorage: MediaStorage
    malwareScanner?: MalwareScanner
  }
}
