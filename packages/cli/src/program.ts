import { Command } from 'commander'
import { registerDlqCommands } from './commands/dlq'
import { registerHealthCommand } from './commands/health'
import { registerKeysCommands } from './commands/keys'
import { registerMigrateCommands } from './commands/migrate'
import { registerOrderCommand } from './commands/order'
import { registerOutboxCommand } from './commands/outbox'
import { registerPrinterCommand } from './commands/printer'
import { registerStatusCommand } from './commands/status'
import { registerUsersCommands } from './commands/users'
import { registerWebhooksCommands } from './commands/webhooks'

/** The `marketmesh` command; each command group lives in its own file under commands/. */
export const createProgram = () => {
  const program = new Command('marketmesh')
    .description(
      'Operate a marketmesh deployment: service health, one order’s life, dead letters, outbox, migrations, webhooks, token keys, the printer agent'
    )
    .showHelpAfterError()
  registerHealthCommand(program)
  registerStatusCommand(program)
  registerDlqCommands(program)
  registerOutboxCommand(program)
  registerOrderCommand(program)
  registerUsersCommands(program)
  registerMigrateCommands(program)
  registerKeysCommands(program)
  registerWebhooksCommands(program)
  registerPrinterCommand(program)
  return program
}
