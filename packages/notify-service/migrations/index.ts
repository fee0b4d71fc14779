import { deviceCredentialMigrations, type MigrationList } from '@marketmesh/shared'
import * as notifications from './0001_notifications'
import * as users from './0002_users'
import * as announcements from './0003_announcements'
import * as streamControl from './0004_stream_control'
import * as printing from './0005_printing'
import * as streamControlInCode from './0006_stream_control_in_code'
import * as conversations from './0007_conversations'
import * as webhooks from './0008_webhooks'
import * as traceContext from './0009_trace_context'

/** This service's migrations, run in name order after the event backbone's. */
export const migrations: MigrationList = {
  ...deviceCredentialMigrations,
  '0001_notifications': notifications,
  '0002_users': users,
  '0003_announcements': announcements,
  '0004_stream_control': streamControl,
  '0005_printing': printing,
  '0006_stream_control_in_code': streamControlInCode,
  '0007_conversations': conversations,
  '0008_webhooks': webhooks,
  '0009_trace_context': traceContext
}
