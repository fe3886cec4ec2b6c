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

  /** How many keys carry the tag. */
  count (tag: string): number {
    return this.#keysByTag.get(tag)?.size ?? 0
  }

  /** The tag's keys, as a live view: keys that leave while it is walked are skipped, keys that join are seen. */
  keysOf (tag: string): Iterable<string> {
    return this.#keysByTag.get(tag) ?? []
  }

  /** Takes up to `max` of the tag's keys out of the index, for an invalidation to remove their entries. */
  take (tag: string, max: number): string[] {
    const keys = this.#keysByTag.get(tag)
    if (keys === undefined) return []
    const taken: string[] = []
    for (const key of keys) {
      if (taken.length === max) break
      taken.push(key)
    }
    for (const key of taken) keys.delete(key)
    if (keys.size === 0) this.#keysByTag.delete(tag)
    return taken
  }

  /** How many (tag, key) pairs the index holds: for tests that check it holds one per live entry and tag. */
  get memberCount (): number {
    let count = 0
    for (const keys of this.#keysByTag.values()) count += keys.size
    return count
  }

  /** How many tags have at least one live entry: for tests that check bookkeeping does not outlive entries. */
  get size (): number {
    return this.#keysByTag.size
  }
}
