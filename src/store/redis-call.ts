// Runs one command of a Redis adapter: a failure becomes one of the store's own errors, and every command, failed or
// not, is published for the metrics and traced for the spans.
import type { Cluster, Redis } from 'ioredis'
import { redisCallChannel, redisCommandChannel, type RedisCommandEvent } from '../redis/command-events.js'
import { noteCrossSlotRefusal } from '../redis/slots.js'
import { callTraced } from '../tracer.js'
import { StoreFullError, StoreUnavailableError } from './types.js'

const script = (name: string) => ({ operation: 'EVALSHA', script: name })
const plain = (operation: string) => ({ operation, script: undefined })

/**
 * Every command the adapters run, by the store's name for it (the metrics' label), and what it sends Redis: a plain
 * command, or a script by its SHA (spans name the script, never its body).
 */
export const STORE_COMMANDS = {
  cacheGet: script('cacheGet'),
  cachePut: script('cachePut'),
  cacheMarkStale: script('cacheMarkStale'),
  conditionalDelete: script('conditionalDelete'),
  tagAdd: script('tagAdd'),
  tagTake: script('tagTake'),
  tagMarkStale: script('tagMarkStale'),
  tagEvict: script('tagEvict'),
  tagConfirm: plain('ZSCORE'),
  tagCount: plain('ZCARD'),
  tagForget: plain('ZREM'),
  tagScan: plain('ZSCAN'),
  hget: plain('HGET'),
  sessionGet: script('sessionGet'),
  sessionPut: script('sessionPut'),
  sessionPatch: script('sessionPatch'),
  sessionDelete: script('sessionDelete'),
  sessionTake: script('sessionTake'),
  sessionRestore: script('sessionRestore'),
  sessionSummary: script('sessionSummary'),
  sessionEnd: script('sessionEnd'),
  sessionEventsAdd: script('sessionEventsAdd'),
  sessionEventsRead: script('sessionEventsRead'),
  subjectAdmit: script('subjectAdmit'),
  subjectCheck: script('subjectCheck'),
  subjectReturn: script('subjectReturn'),
  subjectTake: script('subjectTake'),
  subjectSwap: script('subjectSwap'),
  subjectPage: script('subjectPage'),
  subjectDoubts: script('subjectDoubts'),
  dueNote: script('dueNote'),
  dueClaim: script('dueClaim'),
  dueSettle: script('dueSettle'),
  rateLimit: script('rateLimitGrant'),
  heartbeat: plain('PUBLISH'),
  ping: plain('PING'),
  time: plain('TIME')
} as const

export type StoreCommand = keyof typeof STORE_COMMANDS

/** A Redis client's failure as one of the store's own errors. */
export function storeErrorOf (err: unknown): StoreFullError | StoreUnavailableError {
  // Redis prefixes the error with its code: "OOM command not allowed when used memory > 'maxmemory'".
  if (err instanceof Error && err.name === 'ReplyError' && err.message.startsWith('OOM ')) {
    return new StoreFullError('The store has no room for new data; nothing was written', { cause: err })
  }
  return new StoreUnavailableError('Redis did not answer in time; retry shortly', { cause: err })
}

/**
 * The calls in flight on one client, oldest first, and one timer that fails those past their deadline. Every call on
 * a client has the same timeout, so they expire in the order they began: the timer only looks at the head of the
 * queue. One timer per client rather than one per call, which the hot path would pay for on every request.
 */
class Deadlines {
  readonly #timeoutMs: number
  readonly #queue: Array<{ at: number, expire: (() => void) | undefined }> = []
  #head = 0
  #timer: NodeJS.Timeout | undefined

  constructor (timeoutMs: number) {
    this.#timeoutMs = timeoutMs
  }

  /** The reply, or a rejection once the timeout has passed without one, whichever comes first. */
  bound<T> (command: string, reply: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: { at: number, expire: (() => void) | undefined } = {
        at: performance.now() + this.#timeoutMs,
        expire: () => { reject(new Error(`${command}: no answer within ${this.#timeoutMs} ms`)) }
      }
      this.#queue.push(call)
      this.#timer ??= setInterval(() => { this.#sweep() }, Math.max(10, this.#timeoutMs / 10)).unref()
      reply.then((value) => { call.expire = undefined; resolve(value) },
        (err: unknown) => { call.expire = undefined; reject(err) })
    })
  }

  #sweep (): void {
    const now = performance.now()
    while (this.#head < this.#queue.length) {
      const call = this.#queue[this.#head]!
      if (call.expire !== undefined && call.at > now) break
      call.expire?.()
      this.#head++
    }
    // Compacted now and then, not on every call.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head)
      this.#head = 0
    }
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0
      this.#head = 0
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }
}

const deadlines = new WeakMap<Redis | Cluster, Deadlines>()

/** The deadlines of a client's calls: its own command timeout. */
function deadlinesOf (redis: Redis | Cluster): Deadlines {
  let found = deadlines.get(redis)
  if (found === undefined) {
    const options = redis.isCluster ? (redis as Cluster).options.redisOptions : (redis as Redis).options
    found = new Deadlines(options?.commandTimeout ?? 1000)
    deadlines.set(redis, found)
  }
  return found
}

/**
 * Redis out of memory rejects with StoreFullError; any other failure to get an answer (down, timed out, a demoted
 * primary refusing writes with READONLY) with StoreUnavailableError.
 *
 * The wait is bounded by the client's command timeout as a whole (within a tenth of it). ioredis times a command
 * from when it is written, and with auto-pipelining a command waits unwritten while the connection's previous
 * pipeline is in flight: on a hung Redis each batch would wait for the one before it to time out, and the n-th
 * request would wait n timeouts.
 */
export async function callRedis<T> (redis: Redis | Cluster, command: StoreCommand, reply: Promise<T>): Promise<T> {
  const started = performance.now()
  let failure: string | undefined
  try {
    const answer = deadlinesOf(redis).bound(command, reply)
    if (!redisCallChannel.hasSubscribers || !callTraced()) return await answer
    return await redisCallChannel.tracePromise(async () => await answer,
      { command, ...STORE_COMMANDS[command], client: redis })
  } catch (err) {
    noteCrossSlotRefusal(redis, err)
    const storeError = storeErrorOf(err)
    failure = storeError.name
    throw storeError
  } finally {
    if (redisCommandChannel.hasSubscribers) {
      const event: RedisCommandEvent = { command, durationMs: performance.now() - started, failure }
      redisCommandChannel.publish(event)
    }
  }
}
