import { Argument } from 'commander'
import { CONSUMERS } from '@marketmesh/shared/ops'

export const consumerArgument = () => new Argument('<consumer>', 'the consuming service').choices(CONSUMERS)
