/**
 * A bounded map that evicts the least recently used entry: the reconcile's SDK clients and assumed-role
 * credentials, which otherwise grow with every account a warm function ever saw (~20 KiB of heap per client,
 * four per account: issue 14). A Map keeps insertion order, so re-inserting on use makes its first key the
 * least recently used one.
 *
 * Hand-written rather than the `lru-cache` package: this needs get/set/evict-with-callback only (~40 lines), the
 * package would be a new runtime dependency of both functions' bundles, and its current major (11) is licensed
 * BlueOak-1.0.0, no longer ISC (npm view lru-cache license, 2026-12-04).
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();
  /** Entries dropped to stay within `maxEntries` since construction. */
  evictions = 0;

  constructor(
    readonly maxEntries: number,
    /** Called with each entry evicted for space (not for `delete`), after it left the cache. */
    private readonly onEvict?: (value: V, key: K) => void,
  ) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`LruCache: maxEntries must be a whole number of at least 1, got ${maxEntries}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const [oldestKey, oldestValue] = this.entries.entries().next().value as [K, V];
      this.entries.delete(oldestKey);
      this.evictions += 1;
      this.onEvict?.(oldestValue, oldestKey);
    }
  }

  /** The cached value, or `build()`'s, cached. */
  getOrCreate(key: K, build: () => V): V {
    if (this.entries.has(key)) return this.get(key) as V;
    const value = build();
    this.set(key, value);
    return value;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }
}
