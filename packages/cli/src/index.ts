#!/usr/bin/env node
import { createProgram } from './program'

createProgram()
  .parseAsync(process.argv)
  .catch((error: Error) => {
    process.stderr.write(`marketmesh: ${error.message}\n`)
    process.exit(1)
  })
