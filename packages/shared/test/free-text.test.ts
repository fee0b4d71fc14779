import { Type } from '@feathersjs/typebox'
import { describe, expect, it } from 'vitest'
import { dataValidator, MultiLineText, printableLine, queryValidator, SingleLineText } from '../src'

const schema = Type.Object({
  line: Type.Optional(SingleLineText({ maxLength: 50 })),
  lines: Type.Optional(MultiLineText()),
  attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { text: 'single-line' }))
})
const valid = dataValidator.compile(schema)
const errorsOf = (data: unknown) => (valid(data) ? [] : valid.errors!.map(({ instancePath, message }) => ({ instancePath, message })))

/** What a buyer types to drive a printer, or to make text show what it does not hold. */
const refused: Array<[character: string, what: string]> = [
  ['\u0000', 'U+0000 (a control character)'],
  ['\u0007', 'U+0007 (a control character)'],
  ['\t', 'U+0009 (a control character)'],
  ['\r', 'U+000D (a control character)'],
  ['\u001b', 'U+001B (a control character)'],
  ['\u001d', 'U+001D (a control character)'],
  ['\u007f', 'U+007F (a control character)'],
  ['\u0085', 'U+0085 (a control character)'],
  ['\u009b', 'U+009B (a control character)'],
  ['\u00ad', 'U+00AD (an invisible format character)'],
  ['\u061c', 'U+061C (an invisible format character)'],
  ['\u200b', 'U+200B (an invisible format character)'],
  ['\u200e', 'U+200E (an invisible format character)'],
  ['\u202e', 'U+202E (an invisible format character)'],
  ['\u2066', 'U+2066 (an invisible format character)'],
  ['\u2028', 'U+2028 (a line break)'],
  ['\u2029', 'U+2029 (a line break)'],
  ['\ufeff', 'U+FEFF (an invisible format character)'],
  ['\u{e0041}', 'U+E0041 (an invisible format character)'],
  ['\ud800', 'U+D800 (a lone surrogate)']
]

describe('free text', () => {
  it.each(refused.map(([character, what]) => ({ character, what })))(
    'refuses $what in single- and multi-line text, naming the field and it',
    ({ character, what }) => {
      expect(errorsOf({ line: `Main St 1${character}p022` })).toEqual([{ instancePath: '/line', message: `must not contain ${what}` }])
      expect(errorsOf({ lines: `First line\nMain St 1${character}` })).toEqual([{ instancePath: '/lines', message: `must not contain ${what}` }])
    }
  )

  it('takes a line break only in multi-line text', () => {
    expect(errorsOf({ line: 'Main St 1\nApt 2' })).toEqual([{ instancePath: '/line', message: 'must not contain U+000A (a line break)' }])
    expect(errorsOf({ lines: 'Solid oak.\n\nMade in Berlin.\n' })).toEqual([])
  })

  it('takes the text of any script: accents, Persian and Indic joiners, emoji sequences', () => {
    for (const text of ['Käse & Co.', 'Zoë Ørsted-Łukasiewicz', 'می‌خواهم', 'क्‍ष', '👩‍💻 Studio', '🇩🇪', 'שלום עולם', '東京都']) {
      expect(errorsOf({ line: text, lines: text }), text).toEqual([])
    }
  })

  it('checks every name and string inside free JSON, at any depth', () => {
    expect(errorsOf({ attributes: { color: 'red', size: 42, tags: ['oak', { finish: 'oiled' }] } })).toEqual([])
    expect(errorsOf({ attributes: { tags: ['oak', { finish: 'oiled\u001bp' }] } })).toEqual([
      { instancePath: '/attributes/tags/1/finish', message: 'must not contain U+001B (a control character)' }
    ])
    expect(errorsOf({ attributes: { 'co\u202elor': 'red' } })).toEqual([
      { instancePath: '/attributes', message: 'names must not contain U+202E (an invisible format character)' }
    ])
  })

  it('is checked in queries too', () => {
    const query = queryValidator.compile(Type.Object({ title: SingleLineText() }))
    expect(query({ title: 'Oak' })).toBe(true)
    expect(query({ title: 'Oak\u001b' })).toBe(false)
  })

  it('makes any text a printable line: control characters become spaces, invisible ones go', () => {
    expect(printableLine('Main St 1\u001bp022')).toBe('Main St 1 p022')
    expect(printableLine('Cut\u001dV1\r\nhere\tnow')).toBe('Cut V1  here now')
    expect(printableLine('\u202eevil\u2066\u200b\u00ad\ufeff\ud800\u0085x')).toBe('evil x')
    expect(printableLine('👩‍💻 می‌خواهم Käse')).toBe('👩‍💻 می‌خواهم Käse')
    for (const [character] of refused) expect(errorsOf({ line: printableLine(`a${character}b`) }), character).toEqual([])
  })
})
