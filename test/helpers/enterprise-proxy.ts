// A stand-in for Azure Managed Redis's Enterprise clustering policy: one endpoint, a proxy in front of the shards,
// which speaks the classic protocol only. In front of a real redis-server it refuses what that proxy refuses, with
// its errors:
// - CLUSTER commands: "ERR This instance has cluster support disabled" (the policy has no cluster API);
// - SELECT of a database other than 0: "ERR DB index is out of range" (one database only);
// - a command or script whose keys lie in more than one hash slot, and a transaction whose commands do, with
//   CROSSSLOT and the details the proxy adds; only DEL, MSET, MGET, EXISTS, UNLINK and TOUCH may span slots.
// Keys are found as the server finds them (COMMAND GETKEYS), so a script's declared keys count and nothing is
// guessed. Sources: learn.microsoft.com's "Choose a clustering policy" and "best practices: client libraries"
// (multi-key commands), and the error as Azure's proxy words it (reported in BerriAI/litellm#30065).
import { createConnection, createServer, type Socket } from 'node:net'
import slotOf from 'cluster-key-slot'
import { Redis } from 'ioredis'
import { listenOnLoopback } from './free-port.js'

const CROSS_SLOT_ALLOWED = new Set(['DEL', 'MSET', 'MGET', 'EXISTS', 'UNLINK', 'TOUCH'])
const SUBSCRIBING = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE'])
/** Scripts and functions: the name or body, then how many keys, then the keys. */
const SCRIPTS = new Set(['EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO'])

export interface EnterpriseProxy {
  port: number
  url: string
  /** Every refusal so far, as `COMMAND: error`: a test can assert there were none. */
  refusals: string[]
}

interface Teardown { teardown (fn: () => unknown): void }

export async function startEnterpriseProxy (t: Teardown, targetPort: number): Promise<EnterpriseProxy> {
  const inspector = new Redis({ port: targetPort })
  // Where each command's keys are, from the server's own table (COMMAND): first key, last key (negative: from the
  // end) and step. Commands whose keys move (scripts name theirs by a count) or that have subcommands are asked of
  // the server (COMMAND GETKEYS), but for the scripts, whose count is read here: asking costs a round trip.
  type Entry = [string, number, string[], number, number, number, ...unknown[]]
  const table = await inspector.call('COMMAND') as Entry[]
  const fixed = new Map<string, { first: number, last: number, step: number }>()
  for (const [name, , flags, first, last, step, ...rest] of table) {
    const subcommands = (rest[3] as unknown[] | undefined)?.length ?? 0
    if (!flags.includes('movablekeys') && subcommands === 0) fixed.set(name.toUpperCase(), { first, last, step })
  }
  const refusals: string[] = []
  const sockets = new Set<Socket>()

  async function keysOf (command: Buffer[]): Promise<Buffer[]> {
    const name = command[0]!.toString().toUpperCase()
    if (SCRIPTS.has(name)) return command.slice(3, 3 + Number(command[2]?.toString()))
    const spec = fixed.get(name)
    if (spec !== undefined) {
      if (spec.first === 0) return []
      const last = spec.last < 0 ? command.length + spec.last : spec.last
      const keys: Buffer[] = []
      for (let i = spec.first; i <= last && i < command.length; i += spec.step) keys.push(command[i]!)
      return keys
    }
    try {
      return await inspector.callBuffer('COMMAND', 'GETKEYS', ...command) as Buffer[]
    } catch {
      // A command without keys after all, or one the server will refuse itself: it answers that.
      return []
    }
  }

  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    sockets.add(client).add(upstream)
    const close = () => {
      sockets.delete(client)
      sockets.delete(upstream)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)

    // Replies go back in the order of the commands, whether the server or the proxy gives them.
    const answers: Array<{ reply?: Buffer, transform?: (reply: Buffer) => Buffer }> = []
    const awaiting: Array<typeof answers[number]> = []
    let subscribed = false
    let transaction: { slot?: number, aborted: boolean } | undefined
    const flush = () => {
      while (answers.length > 0 && answers[0]!.reply !== undefined) client.write(answers.shift()!.reply!)
    }
    const refuse = (name: string, message: string) => {
      refusals.push(`${name}: ${message}`)
      answers.push({ reply: Buffer.from(`-${message}\r\n`) })
      flush()
    }
    const forward = (command: Buffer[], transform?: (reply: Buffer) => Buffer) => {
      const answer = { transform }
      answers.push(answer)
      awaiting.push(answer)
      upstream.write(encode(command))
    }

    let pending: Buffer = Buffer.alloc(0)
    upstream.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (awaiting.length > 0) {
        const end = replyEnd(pending, 0)
        if (end === -1) return
        const answer = awaiting.shift()!
        const reply = pending.subarray(0, end)
        answer.reply = answer.transform === undefined ? reply : answer.transform(reply)
        pending = pending.subarray(end)
      }
      flush()
      // Once subscribed, the server pushes messages no command asked for: they pass through as they come.
      if (subscribed && pending.length > 0) {
        client.write(pending)
        pending = Buffer.alloc(0)
      }
    })

    let chain = Promise.resolve()
    let input: Buffer = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      input = input.length === 0 ? chunk : Buffer.concat([input, chunk])
      for (;;) {
        const parsed = parseCommand(input)
        if (parsed === undefined) return
        input = input.subarray(parsed.end)
        const command = parsed.command
        chain = chain.then(async () => { await decide(command) }, () => {})
      }
    })

    async function decide (command: Buffer[]): Promise<void> {
      const name = command[0]!.toString().toUpperCase()
      if (subscribed) {
        upstream.write(encode(command))
        return
      }
      if (name === 'CLUSTER') return refuse(name, 'ERR This instance has cluster support disabled')
      if (name === 'SELECT' && command[1]?.toString() !== '0') return refuse(name, 'ERR DB index is out of range')
      if (name === 'MULTI') transaction = { aborted: false }
      if (name === 'EXEC' || name === 'DISCARD') {
        const aborted = transaction?.aborted === true
        transaction = undefined
        if (aborted && name === 'EXEC') {
          // The refused command never reached the server, which would run the rest: the proxy discards it all.
          return forward([Buffer.from('DISCARD')],
            () => Buffer.from('-EXECABORT Transaction discarded because of previous errors.\r\n'))
        }
      }
      if (SUBSCRIBING.has(name)) {
        subscribed = true
        upstream.write(encode(command))
        return
      }
      if (!CROSS_SLOT_ALLOWED.has(name) || transaction !== undefined) {
        const keys = await keysOf(command)
        const first = keys[0]
        const firstSlot = transaction?.slot ?? (first === undefined ? undefined : slotOf(first))
        const violating = keys.find((key) => slotOf(key) !== firstSlot)
        if (firstSlot !== undefined && violating !== undefined) {
          if (transaction !== undefined) transaction.aborted = true
          return refuse(name, 'CROSSSLOT Keys in request don\'t hash to the same slot (context=\'\', ' +
            `command='${name.toLowerCase()}', original-slot='${firstSlot}', wrong-slot='${slotOf(violating)}', ` +
            `first-key='${(first ?? violating).toString()}', violating-key='${violating.toString()}')`)
        }
        if (transaction !== undefined && firstSlot !== undefined) transaction.slot = firstSlot
      }
      forward(command)
    }
  })
  const port = await listenOnLoopback(server)
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    inspector.disconnect()
    await new Promise((resolve) => server.close(resolve))
  })
  return { port, url: `redis://127.0.0.1:${port}`, refusals }
}

function encode (command: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${command.length}\r\n`)]
  for (const arg of command) parts.push(Buffer.from(`$${arg.length}\r\n`), arg, Buffer.from('\r\n'))
  return Buffer.concat(parts)
}

/** One command a client sent (a RESP array of bulk strings, or an inline command), or undefined if incomplete. */
function parseCommand (buffer: Buffer): { command: Buffer[], end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n')
  if (lineEnd === -1) return undefined
  if (buffer[0] !== 0x2a) { // '*': anything else is an inline command, words on one line
    const words = buffer.subarray(0, lineEnd).toString().trim().split(/\s+/).filter(Boolean)
    return { command: words.map((word) => Buffer.from(word)), end: lineEnd + 2 }
  }
  const count = Number(buffer.subarray(1, lineEnd).toString())
  const command: Buffer[] = []
  let offset = lineEnd + 2
  for (let i = 0; i < count; i++) {
    const headerEnd = buffer.indexOf('\r\n', offset)
    if (headerEnd === -1) return undefined
    const length = Number(buffer.subarray(offset + 1, headerEnd).toString())
    const start = headerEnd + 2
    if (buffer.length < start + length + 2) return undefined
    command.push(buffer.subarray(start, start + length))
    offset = start + length + 2
  }
  return { command, end: offset }
}

/** Where the reply starting at `offset` ends (RESP2 and RESP3), or -1 while it is incomplete. */
function replyEnd (buffer: Buffer, offset: number): number {
  const lineEnd = buffer.indexOf('\r\n', offset)
  if (lineEnd === -1) return -1
  const type = String.fromCharCode(buffer[offset]!)
  const header = buffer.subarray(offset + 1, lineEnd).toString()
  const after = lineEnd + 2
  switch (type) {
    case '$': case '=': case '!': {
      const length = Number(header)
      if (length < 0) return after
      return buffer.length < after + length + 2 ? -1 : after + length + 2
    }
    case '*': case '~': case '>': case '%': case '|': {
      const count = Number(header) * (type === '%' || type === '|' ? 2 : 1)
      let end = after
      for (let i = 0; i < count; i++) {
        end = replyEnd(buffer, end)
        if (end === -1) return -1
      }
      // An attribute comes before the reply it describes.
      return type === '|' ? replyEnd(buffer, end) : end
    }
    default:
      return after
  }
}
