/**
 * {@linkcode CacheFiles} in an object store, keys as in the file cache
 * (`v1/binance/...`) under the store's prefix.
 *
 * - A new file is created with `If-None-Match: *`: objects are written once.
 *   When it exists (another writer won the race, or an earlier run wrote it),
 *   it is read back once and kept when `keeps` says so (a valid Vision
 *   object against REST rows, or the same archive); else it is replaced by
 *   a plain PUT (a REST object upgraded to Vision, a damaged one), which is
 *   atomic per object. Between that read and the PUT another writer may
 *   store Vision data that the PUT then replaces: both are valid partitions,
 *   and the next REST → Vision upgrade check sees which one stayed.
 * - A damaged object is copied to `quarantine/{key}.{time}` and then deleted,
 *   unless its bytes changed since it was read (read again first; a writer
 *   replacing it in the instant between that check and the delete loses its
 *   object, which is then fetched again).
 * - A folder is a key prefix: listing one is one paged LIST.
 *
 * @module
 */
import type { CacheFiles, FileRead, FolderListing } from "./cache_files.ts";
import type { ObjectStore } from "./object_store.ts";

/** The prefix of set-aside copies. */
export const QUARANTINE = "quarantine/";

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The files of a cache in an object store. */
export class ObjectCacheFiles implements CacheFiles {
  readonly root: string;
  readonly writable: boolean;
  readonly #store: ObjectStore;

  /**
   * @param store The store (keys relative to its prefix).
   * @param writable False to never write, move or delete.
   */
  constructor(store: ObjectStore, writable: boolean) {
    this.root = store.url.replace(/\/+$/, "");
    this.writable = writable;
    this.#store = store;
  }

  name(key: string): string {
    return `${this.root}/${key}`;
  }

  refusal(_folder: string): string | undefined {
    return undefined; // keys are built from checked parts: nothing leads out of the prefix
  }

  async folders(folder: string): Promise<string[]> {
    const prefix = `${folder}/`;
    const names = new Set<string>();
    for await (const { key } of this.#store.list(prefix)) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash > 0) names.add(rest.slice(0, slash));
    }
    return [...names];
  }

  async list(folder: string): Promise<FolderListing> {
    const out: FolderListing = { files: [], setAside: [] };
    const prefix = `${folder}/`;
    for await (const { key, size } of this.#store.list(prefix)) {
      const name = key.slice(prefix.length);
      if (!name.includes("/") && name.endsWith(".arrow")) out.files.push({ name, bytes: size });
    }
    const quarantined = `${QUARANTINE}${prefix}`;
    for await (const { key } of this.#store.list(quarantined)) {
      const original = /^([^/]+\.arrow)\.\d+$/.exec(key.slice(quarantined.length))?.[1];
      if (original !== undefined) out.setAside.push({ name: original, key });
    }
    return out;
  }

  async stat(key: string): Promise<{ bytes: number } | undefined> {
    const info = await this.#store.head(key);
    return info && { bytes: info.size };
  }

  async read(key: string): Promise<FileRead | undefined> {
    const bytes = await this.#store.get(key);
    return bytes && { bytes, size: bytes.length };
  }

  /** The whole object (a partition is small; one GET either way). */
  readFooter(key: string): Promise<FileRead | undefined> {
    return this.read(key);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.#store.head(key)) !== undefined;
  }

  async write(
    key: string,
    bytes: Uint8Array,
    keeps: (existing: Uint8Array) => boolean,
  ): Promise<boolean> {
    if (await this.#store.put(key, bytes, { ifNoneMatch: true })) return true;
    const existing = await this.#store.get(key);
    if (existing !== undefined && keeps(existing)) return false;
    return await this.#store.put(key, bytes);
  }

  async setAside(key: string, read: FileRead, now: number): Promise<string | undefined> {
    const current = await this.#store.get(key);
    if (current === undefined || !same(current, read.bytes)) return undefined;
    const copy = `${QUARANTINE}${key}.${now}`;
    await this.#store.put(copy, read.bytes);
    await this.#store.delete(key);
    return this.name(copy);
  }

  /** Deletes an object; true (a DELETE does not say whether it was there). */
  async remove(key: string): Promise<boolean> {
    await this.#store.delete(key);
    return true;
  }

  removeFolder(_folder: string): Promise<void> {
    return Promise.resolve(); // prefixes are not objects
  }
}
