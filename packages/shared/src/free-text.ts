import { Type, type StringOptions, type TString } from '@feathersjs/typebox'

/**
 * What free text people read, and devices print, may hold. A text field is one line, or several
 * lines broken by `\n` alone. Refused in either: control characters (C0, DEL, C1: a receipt
 * printer runs them as commands, `ESC p` opens the cash drawer), line and paragraph separators,
 * lone surrogates, and invisible format characters (Unicode category Cf: bidi overrides and
 * isolates, zero-width spaces, soft hyphens, byte order marks, tags), which make text show
 * something other than what it holds. A tab is refused too: its width is up to the viewer, and on
 * a printer it jumps to the next tab stop, out of the receipt's columns.
 *
 * ZERO WIDTH NON-JOINER and JOINER (U+200C, U+200D) are taken: Persian and the Indic scripts
 * need them to spell words, emoji sequences to draw one picture, and they reorder nothing.
 */
export const TEXT_KINDS = ['single-line', 'multi-line'] as const
export type TextKind = (typeof TEXT_KINDS)[number]

const refused = {
  'single-line': /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u,
  'multi-line': /(?![\n\u200c\u200d])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u
} satisfies Record<TextKind, RegExp>

const nameOf = (character: string) => {
  if (/[\n\p{Zl}\p{Zp}]/u.test(character)) return 'a line break'
  if (/\p{Cc}/u.test(character)) return 'a control character'
  if (/\p{Cs}/u.test(character)) return 'a lone surrogate'
  return 'an invisible format character'
}

/** Why `text` is no text of `kind`, naming the first character refused ("must not contain U+001B (a control character)"); undefined if it is. */
export const textProblem = (text: string, kind: TextKind): string | undefined => {
  const character = refused[kind].exec(text)?.[0]
  if (character === undefined) return undefined
  const codePoint = character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')
  return `must not contain U+${codePoint} (${nameOf(character)})`
}

/** A string schema for one line of free text (a name, a title, an address line): see TEXT_KINDS. */
export const SingleLineText = (options: StringOptions<string> = {}): TString => Type.String({ ...options, text: 'single-line' })

/** A string schema for free text of several lines, broken by `\n` (a description, a comment): see TEXT_KINDS. */
export const MultiLineText = (options: StringOptions<string> = {}): TString => Type.String({ ...options, text: 'multi-line' })

/**
 * `text` as one line that is safe to hand to a person or a device whatever it holds: line breaks,
 * tabs and other control characters become spaces, invisible format characters and lone
 * surrogates are dropped (everything TEXT_KINDS refuses). For what is shown from data that may
 * predate the input checks, or come from elsewhere: receipts, mail subjects and headers.
 */
export const printableLine = (text: string) => text.replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ').replace(/(?![\u200c\u200d])[\p{Cf}\p{Cs}]/gu, '')
