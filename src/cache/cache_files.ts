/**
 * The storage seam of the partition stores: the few operations a store does
 * on its files, by their key under the root (`v1/binance/...`, `/`-separated).
 * `FsPartitionStore` keeps them in a folder (atomic renames, set-aside copies
 * beside them), `ObjectPartitionStore` in an object store (create-only puts,
 * quarantined copies under `quarantine/`). The rules of the cache (keys,
 * validation, Vision never replaced by REST) stay in the stores.
 *
 * @module
 */

/** Bytes read from a file. */
export interface FileRead {
  /** The bytes (the whole file, or its head and footer for footer reads). */
  bytes: Uint8Array;
  /** The file's size. */
  size: number;
  /** What identifies the file read (to set aside only that file), where the storage has it. */
  identity?: string;
}

/** A partition file in a listing. */
export interface ListedFile {
  /** Its name in the folder, e.g. `2024-01.arrow`. */
  name: string;
  /** Size in bytes, when the listing says (else {@linkcode CacheFiles.stat} tells). */
  bytes?: number;
  /** Last modification, epoch ms, when known. */
  modifiedAt?: number;
}

/** What a folder holds: its partition files, and copies of damaged ones set aside. */
export interface FolderListing {
  /** Entries that may be partition files (a non-file one too: its read sets it aside). */
  files: ListedFile[];
  /** Set-aside copies: the name of the file they were, and their own key (to delete them). */
  setAside: { name: string; key: string }[];
}

/**
 * The files of a cache, by key under its root: the storage of a
 * `PartitionStore`.
 */
export interface CacheFiles {
  /** The root: an absolute folder, or the object store's URL. */
  readonly root: string;
  /** False when nothing may be written, moved or deleted. */
  readonly writable: boolean;
  /** Where a key lies, for messages and listings: a path, or the object's URL. */
  name(key: string): string;
  /** Why a folder may not be used (it leads out of the root), or undefined. */
  refusal(folder: string): string | undefined;
  /** The sub-folder names of a folder (none when it does not exist). */
  folders(folder: string): Promise<string[]>;
  /** The files of a folder (none when it does not exist). */
  list(folder: string): Promise<FolderListing>;
  /** Size and modification time of a file, undefined when absent. */
  stat(key: string): Promise<{ bytes: number; modifiedAt?: number } | undefined>;
  /** A whole file, or undefined; rejects with `NotAFileError` for a non-file. */
  read(key: string): Promise<FileRead | undefined>;
  /** At least the head and footer of a file, or undefined. */
  readFooter(key: string): Promise<FileRead | undefined>;
  /** Whether a regular file is there. */
  exists(key: string): Promise<boolean>;
  /**
   * Writes a file whole, unless what is there should be kept.
   *
   * @param keeps Whether the bytes found there win over the new ones (asked
   *   again just before the file is replaced, where the storage allows).
   * @returns False when the existing file was kept.
   */
  write(key: string, bytes: Uint8Array, keeps: (existing: Uint8Array) => boolean): Promise<boolean>;
  /**
   * Sets a damaged file aside unless it changed since it was read.
   *
   * @returns Where it went, or undefined when it was gone or replaced.
   */
  setAside(key: string, read: FileRead, now: number): Promise<string | undefined>;
  /** Deletes a file (a folder in its place too); false when it was not there. */
  remove(key: string): Promise<boolean>;
  /** Deletes a folder once empty (nothing when it is not). */
  removeFolder(folder: string): Promise<void>;
}
