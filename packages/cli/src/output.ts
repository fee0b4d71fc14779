import { createInterface } from 'node:readline/promises'

export const print = (line: string) => process.stdout.write(`${line}\n`)

/** `--json` output: one JSON document per line. */
export const printJson = (value: unknown) => print(JSON.stringify(value))

/** `12s`, `4m`, `3h`, `2d`: how long ago, to the largest whole unit. */
export const formatAge = (seconds: number) => {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60]
  ] as const) {
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit}`
  }
  return `${Math.max(0, Math.floor(seconds))}s`
}

/** Columns padded to their widest cell. */
export const formatTable = (header: string[], rows: string[][]) => {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)))
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd()
    )
    .join('\n')
}

/** Help text after the options: `Examples:` and one command a line. */
export const examples = (...lines: string[]) => `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`

/**
 * Asks a yes/no question on the terminal. Without a terminal there is nobody to answer: the
 * command must be told `--yes`.
 */
export const confirm = async (question: string, refusal: string) => {
  if (!process.stdin.isTTY) throw new Error(refusal)
  const terminal = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await terminal.question(`${question} [y/N] `)).trim())
  } finally {
    terminal.close()
  }
}
