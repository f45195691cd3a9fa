// Serialized answers of the data routes, reused while neither the results nor the pods have
// changed. After a test run the data is static and pipelines poll the same queries; one answer
// over 100,000 results costs milliseconds of CPU, and 20 concurrent clients queue behind it.
export class AnswerCache {
  readonly #max: number;
  readonly #entries = new Map<string, string>();
  #stamp = '';

  constructor(max = 256) {
    this.#max = max;
  }

  /** `stamp` identifies the data version; a new stamp empties the cache. */
  get(stamp: string, key: string): string | undefined {
    this.#sync(stamp);
    return this.#entries.get(key);
  }

  set(stamp: string, key: string, body: string): void {
    this.#sync(stamp);
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, body);
  }

  #sync(stamp: string): void {
    if (stamp !== this.#stamp) {
      this.#entries.clear();
      this.#stamp = stamp;
    }
  }
}
