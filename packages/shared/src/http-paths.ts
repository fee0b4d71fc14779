import type { ServiceApplication } from './declarations'

/**
 * Records a path the app answers with Koa middleware of its own, beside its Feathers services
 * (which `app.services` lists): the fuzz suite sends requests to both, so a route left out here
 * goes untested.
 */
export const answersPath = (app: ServiceApplication, path: string) => app.set('httpPaths', [...(app.get('httpPaths') ?? []), path])
