import type { MigrationList } from '@marketmesh/shared'
import * as users from './0001_users'
import * as refreshTokens from './0002_refresh_tokens'
import * as devices from './0003_devices'
import * as userVersion from './0004_user_version'
import * as rateLimits from './0005_rate_limits'
import * as refreshTokenSuccessor from './0006_refresh_token_successor'
import * as accountTokens from './0007_account_tokens'

/** This service's migrations, run in name order after the event backbone's. */
export const migrations: MigrationList = {
  '0001_users': users,
  '0002_refresh_tokens': refreshTokens,
  '0003_devices': devices,
  '0004_user_version': userVersion,
  '0005_rate_limits': rateLimits,
  '0006_refresh_token_successor': refreshTokenSuccessor,
  '0007_account_tokens': accountTokens
}
