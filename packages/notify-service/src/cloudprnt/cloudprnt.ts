import { answersPath, type ServiceApplication } from '@marketmesh/shared'
import { CLOUDPRNT_PATH, cloudprntRoute } from './route'

export const cloudprnt = (app: ServiceApplication) => {
  app.use(cloudprntRoute(app))
  answersPath(app, CLOUDPRNT_PATH)
}
