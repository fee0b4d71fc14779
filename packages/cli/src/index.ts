import { createProgram } from './program'

// `marketmesh dlq list | head`: the reader went away, which is no error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

createProgram()
  .parseAsync(process.argv)
  .catch((error: Error) => {
    process.stderr.write(`marketmesh: ${error.message}\n`)
    process.exit(1)
  })
