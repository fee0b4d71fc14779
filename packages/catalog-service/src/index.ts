import './tracing'
import { runService } from '@marketmesh/shared'
import { createApp } from './app'

void runService(createApp)
