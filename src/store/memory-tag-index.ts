// The memory cache store's tag index: which live keys carry each tag. The store keeps it exact by removing a key's
// tags whenever its entry leaves (ExpiringMap's onRemoved), so a tag disappears with its last entry.

export class TagIndex {
  readonly #keysByTag = new Map<string, Set<string>>()

  add (key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      let keys = this.#keysByTag.get(tag)
      if (keys === undefined) this.#keysByTag.set(tag, keys = new Set())
      keys.add(key)
    }
  }

  remove (key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#keysByTag.get(tag)
      keys?.delete(key)
      if (keys?.size === 0) this.#keysByTag.delete(tag)
    }
  }

  /** A copy, so that the caller may remove entries (and with them index members) while it walks the list. */
  keysOf (tag: string): string[] {
    return [...this.#keysByTag.get(tag) ?? []]
  }

  /** How many tags have at least one live entry: for tests that check bookkeeping does not outlive entries. */
  get size (): number {
    return this.#keysByTag.size
  }
}
