// Makes real redis-server processes behave like Azure Cache for Redis with Microsoft Entra ID authentication:
// - the ACL user is the token's oid, and its accepted passwords are the tokens issued and not yet expired;
// - unauthenticated connections get nothing (the default user is off);
// - when a token expires, every connection of that user that has not authenticated since a newer token was
//   issued is closed (CLIENT KILL), as Azure does. AUTH and HELLO are tracked per connection with MONITOR.
import { randomBytes } from 'node:crypto'
import type { AccessToken } from '@azure/core-auth'
import { Redis } from 'ioredis'
import type { RedisServer } from './redis-server.js'

interface Teardown { teardown (fn: () => unknown): void }

interface IssuedToken {
  token: string
  issuedAt: number
  expiresAt: number
}

interface Node {
  admin: Redis
  monitor: Redis
  /** Last time each client address sent AUTH or HELLO ... AUTH, in ms. */
  lastAuth: Map<string, number>
  /** How many AUTH or HELLO ... AUTH the node has seen. */
  authentications: number
}

export interface Kill {
  addr: string
  name: string
  at: number
}

export class EntraRedis {
  readonly oid: string
  readonly kills: Kill[] = []
  readonly #nodes: Node[]
  readonly #tokens: IssuedToken[] = []
  readonly #timers = new Set<NodeJS.Timeout>()

  private constructor (oid: string, nodes: Node[]) {
    this.oid = oid
    this.#nodes = nodes
  }

  /** Locks the servers down to Entra-style authentication for the identity `oid`. */
  static async start (t: Teardown, servers: RedisServer[], oid: string): Promise<EntraRedis> {
    const adminPassword = randomBytes(16).toString('hex')
    const nodes: Node[] = []
    for (const server of servers) {
      const setup = new Redis(server.clientOptions)
      await setup.acl('SETUSER', 'emulator-admin', 'on', `>${adminPassword}`, '~*', '&*', '+@all')
      await setup.acl('SETUSER', oid, 'on', 'resetpass', '~*', '&*', '+@all')
      await setup.acl('SETUSER', 'default', 'off')
      setup.disconnect()
      // The stand-in's own connections give up quietly when a test stops the server before the stand-in.
      const options = {
        ...server.clientOptions,
        username: 'emulator-admin',
        password: adminPassword,
        retryStrategy: () => null
      }
      const monitor = await new Redis(options).monitor()
      const node: Node = { admin: new Redis(options), monitor, lastAuth: new Map(), authentications: 0 }
      node.admin.on('error', () => {})
      node.monitor.on('error', () => {})
      node.monitor.on('monitor', (time: string, args: string[], source: string) => {
        const command = args[0]?.toUpperCase()
        if (command === 'AUTH' || (command === 'HELLO' && args.some((arg) => arg.toUpperCase() === 'AUTH'))) {
          node.lastAuth.set(source, Number(time) * 1000)
          node.authentications++
        }
      })
      nodes.push(node)
    }
    const emulator = new EntraRedis(oid, nodes)
    t.teardown(() => { emulator.stop() })
    return emulator
  }

  /** To be called as each token is issued: Redis accepts it from now until it expires. */
  async accept ({ token, expiresOnTimestamp }: AccessToken): Promise<void> {
    for (const { admin } of this.#nodes) await admin.acl('SETUSER', this.oid, `>${token}`)
    const issued = { token, issuedAt: Date.now(), expiresAt: expiresOnTimestamp }
    this.#tokens.push(issued)
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#expire(issued).catch(() => {})
    }, Math.max(0, expiresOnTimestamp - Date.now()))
    this.#timers.add(timer)
  }

  /** The connections of the identity with this connection name, per node. */
  async connectionsPerNode (name: string): Promise<number[]> {
    return await Promise.all(this.#nodes.map(async ({ admin }) =>
      (await clientsOf(admin, this.oid)).filter((client) => client.name === name).length))
  }

  /** How many times each node saw AUTH (or HELLO with AUTH) since the emulator started. */
  authenticationsPerNode (): number[] {
    return this.#nodes.map(({ authentications }) => authentications)
  }

  async #expire (expired: IssuedToken): Promise<void> {
    const successor = this.#tokens.find((token) => token.issuedAt > expired.issuedAt)
    for (const node of this.#nodes) {
      await node.admin.acl('SETUSER', this.oid, `<${expired.token}`)
      await this.#catchUp(node)
      for (const client of await clientsOf(node.admin, this.oid)) {
        const authenticatedAt = node.lastAuth.get(client.addr) ?? 0
        if (successor !== undefined && authenticatedAt > successor.issuedAt) continue
        await node.admin.client('KILL', 'ID', client.id)
        this.kills.push({ addr: client.addr, name: client.name, at: Date.now() })
      }
    }
  }

  /** Waits until MONITOR has shown every command sent before now. */
  async #catchUp (node: Node): Promise<void> {
    const marker = `catch-up-${randomBytes(6).toString('hex')}`
    const seen = new Promise<void>((resolve) => {
      const onCommand = (_time: string, args: string[]) => {
        if (args[1] === marker) {
          node.monitor.off('monitor', onCommand)
          resolve()
        }
      }
      node.monitor.on('monitor', onCommand)
    })
    await node.admin.echo(marker)
    await seen
  }

  stop (): void {
    for (const timer of this.#timers) clearTimeout(timer)
    for (const node of this.#nodes) {
      node.monitor.disconnect()
      node.admin.disconnect()
    }
  }
}

async function clientsOf (admin: Redis, user: string): Promise<Array<{ id: string, addr: string, name: string }>> {
  const list = await admin.client('LIST') as string
  return list.split('\n').filter(Boolean).map((line) => Object.fromEntries(line.split(' ').map((field) => {
    const at = field.indexOf('=')
    return [field.slice(0, at), field.slice(at + 1)]
  }))).filter((client) => client.user === user) as Array<{ id: string, addr: string, name: string }>
}
