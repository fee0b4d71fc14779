import type { Command } from 'commander'
import { examples } from '../../output'
import { registerListCommand } from './list'
import { registerPurgeCommand } from './purge'
import { registerRedriveCommand } from './redrive'
import { registerShowCommand } from './show'

export const registerDlqCommands = (program: Command) => {
  const dlq = program
    .command('dlq')
    .description("Inspect, redrive and purge the event consumers' dead letters")
    .addHelpText(
      'after',
      examples(
        'marketmesh dlq list',
        'marketmesh dlq show catalog-service --type order.created --since 1h',
        'marketmesh dlq redrive catalog-service --error "timeout" --yes',
        'marketmesh dlq purge notify-service --type device.revoked --yes'
      )
    )
  registerListCommand(dlq)
  registerShowCommand(dlq)
  registerRedriveCommand(dlq)
  registerPurgeCommand(dlq)
  return dlq
}
