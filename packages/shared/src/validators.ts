import { BadRequest } from '@feathersjs/errors'
import { Ajv, addFormats, type FormatsPluginOptions } from '@feathersjs/schema'
import type { SchemaValidateFunction } from 'ajv'
import { TEXT_KINDS, textProblem, type TextKind } from './free-text'

const formats: FormatsPluginOptions = [
  'date-time',
  'time',
  'date',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex'
]

const pointerSegment = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1')

/** The first string in `value` (itself, or inside it at any depth) that is no text of `kind`: where, and why. Names inside are single lines. */
const textProblemIn = (value: unknown, kind: TextKind): { path: string[]; problem: string } | undefined => {
  // Iterative, like refuseUnsafeInput: however deep a value, the stack does not overflow here.
  const pending: Array<[value: unknown, path: string[]]> = [[value, []]]
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, path] = next
    if (typeof item === 'string') {
      const problem = textProblem(item, kind)
      if (problem) return { path, problem }
      continue
    }
    if (item === null || typeof item !== 'object') continue
    for (const [key, member] of Object.entries(item)) {
      const problem = textProblem(key, 'single-line')
      if (problem) return { path, problem: `names ${problem}` }
      pending.push([member, [...path, pointerSegment(key)]])
    }
  }
  return undefined
}

/**
 * The `text` keyword of SingleLineText and MultiLineText: `text: 'single-line' | 'multi-line'`. On
 * a string schema it checks the string; on another (free attributes) every string inside, at any
 * depth, and every property name. The error names the field like any schema error.
 */
const validateText: SchemaValidateFunction = (kind: TextKind, data, _schema, dataCxt) => {
  const found = textProblemIn(data, kind)
  if (!found) return true
  validateText.errors = [
    { keyword: 'text', instancePath: [dataCxt?.instancePath ?? '', ...found.path].join('/'), message: found.problem, params: { text: kind } }
  ]
  return false
}

const withTextKeyword = (ajv: Ajv) =>
  ajv.addKeyword({ keyword: 'text', schemaType: 'string', metaSchema: { enum: [...TEXT_KINDS] }, errors: true, validate: validateText })

/** Validates request bodies and event payloads (the generator's `dataValidator`). */
export const dataValidator: Ajv = withTextKeyword(addFormats(new Ajv({ allErrors: true }), formats))

/** Validates query strings, whose values arrive as strings (the generator's `queryValidator`). */
export const queryValidator: Ajv = withTextKeyword(addFormats(new Ajv({ coerceTypes: true, allErrors: true }), formats))

/** `/a/b` (ajv's instancePath) as `a.b`, the way settings and fields are named to people. */
export const fieldName = (instancePath: string, missingProperty?: string) =>
  [...instancePath.split('/').filter(Boolean), ...(missingProperty ? [missingProperty] : [])].join('.')

/** A 400 for one field that a hook checks, shaped like a schema error: "Invalid <field>: <why>". */
export const invalidField = (field: string, message: string) =>
  new BadRequest(`Invalid ${field}: ${message}`, [{ instancePath: `/${field}`, message }])
