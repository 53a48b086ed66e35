/**
 * A bounded FIFO ring buffer.
 *
 * `push` and `shift` are O(1) and never copy the buffer, so the cost of
 * `reporter.log()` does not grow with the queue's length. The capacity is
 * fixed at construction; the backing array grows lazily up to it, so a
 * reporter with a large `maxQueueSize` that stays mostly empty stays small.
 */
export class RingQueue<T> {
  readonly capacity: number;
  #items: (T | undefined)[] = [];
  #head = 0;
  #size = 0;

  /** @param capacity - the most items it holds at once; an integer ≥ 1. */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`Expected \`capacity\` to be an integer ≥ 1, got \`${String(capacity)}\` (${typeof capacity})`);
    }
    this.capacity = capacity;
  }

  /** How many items are queued. */
  get size(): number {
    return this.#size;
  }

  /** Whether another `push` would be refused. */
  get full(): boolean {
    return this.#size >= this.capacity;
  }

  /** Appends at the tail. Returns false, and keeps nothing, when full. */
  push(item: T): boolean {
    if (this.#size >= this.capacity) return false;
    const slot = (this.#head + this.#size) % this.capacity;
    this.#items[slot] = item;
    this.#size++;
    return true;
  }

  /** Removes and returns the newest item (the tail), or undefined when empty. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const slot = (this.#head + this.#size - 1) % this.capacity;
    const item = this.#items[slot];
    this.#items[slot] = undefined;
    this.#size--;
    return item;
  }

  /** The item `index` places from the head (0 is the oldest), without removing it; undefined past the tail. */
  at(index: number): T | undefined {
    return index < this.#size ? this.#items[(this.#head + index) % this.capacity] : undefined;
  }

  /** Removes and returns up to `count` items from the head, oldest first. */
  shift(count: number): T[] {
    const n = Math.min(count, this.#size);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      const slot = this.#head;
      out[i] = this.#items[slot] as T;
      this.#items[slot] = undefined;
      this.#head = (slot + 1) % this.capacity;
    }
    this.#size -= n;
    if (this.#size === 0) this.#head = 0;
    return out;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    return this.shift(this.#size);
  }
}
