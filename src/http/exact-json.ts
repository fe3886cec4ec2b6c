// JSON request bodies, parsed so that nothing in them changes silently: JSON.parse turns 1e999 into Infinity
// (which JSON.stringify then writes as null, a deletion in a merge patch) and 12345678901234567890 into
// 12345678901234567000. A body holding a number that a double cannot carry exactly is refused instead.
// Like Fastify's own parser, members that could poison a prototype (__proto__, constructor.prototype) are refused.
import type { FastifyRequest } from 'fastify'
import secureJson from 'secure-json-parse'
import { BodyValidationError } from '../errors.js'

const POISON_REFUSED = { protoAction: 'error', constructorAction: 'error' } as const
const FORBIDDEN_MEMBER = /forbidden prototype property/

/** A Fastify content type parser (parseAs: 'string') for JSON and JSON merge patch bodies. */
export function parseExactJson (_request: FastifyRequest, body: string | Buffer,
  done: (err: Error | null, body?: unknown) => void): void {
  const text = typeof body === 'string' ? body : body.toString('utf8')
  let parsed: unknown
  try {
    parsed = secureJson.parse(text, null, POISON_REFUSED)
  } catch (err) {
    // JSON.parse's message quotes the text it choked on: the caller needs no echo of its own data.
    done(new BodyValidationError(FORBIDDEN_MEMBER.test((err as Error).message)
      ? 'The request body holds a member that is not allowed (__proto__, or constructor.prototype)'
      : 'The request body is not valid JSON'))
    return
  }
  const inexact = firstInexactNumber(text)
  if (inexact !== undefined) {
    done(new BodyValidationError('The request body holds a number that cannot be stored exactly ' +
      `(${inexact.length > 40 ? `${inexact.slice(0, 40)}…` : inexact}); send it as a string`))
    return
  }
  done(null, parsed)
}

/** The first number token of a valid JSON text whose value a double does not hold exactly, if any. */
export function firstInexactNumber (text: string): string | undefined {
  const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) { // a string: skip to its closing quote, past escapes
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      number.lastIndex = i
      const token = number.exec(text)![0]
      if (!isExact(token)) return token
      i += token.length - 1
    }
  }
  return undefined
}

/**
 * True when the double nearest the token is the token's own value: the shortest text that round-trips the double
 * (what String() and JSON.stringify write) has the same digits and exponent. -0 counts as 0.
 */
export function isExact (token: string): boolean {
  const value = Number(token)
  return Number.isFinite(value) && decimal(token) === decimal(String(value))
}

/** A number text as `sign digits e exponent`, with no leading or trailing zeros in the digits. */
function decimal (text: string): string {
  const [, sign, whole, fraction = '', exponent = '0'] = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)!
  let digits = (whole! + fraction).replace(/^0+/, '')
  if (digits === '') return '0'
  const trailing = digits.length - digits.replace(/0+$/, '').length
  digits = digits.slice(0, digits.length - trailing)
  return `${sign}${digits}e${Number(exponent) - fraction.length + trailing}`
}
