import { runMigrations } from '@marketmesh/shared'
import { createApp } from './app'

void runMigrations(createApp)
