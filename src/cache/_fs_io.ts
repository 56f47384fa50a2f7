/**
 * File primitives of the fs cache: whole and footer-only reads that keep
 * the file's identity and never open anything but a regular file, atomic
 * replacement through a temporary file (sweeping the folder's abandoned
 * ones), and setting corrupt files aside.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { TEMP_PATTERN } from "./_kline_paths.ts";

/**
 * Age after which a temporary file is abandoned: a writer fills and renames
 * its file within milliseconds, so one untouched for this long belongs to a
 * killed process. (Removing a live writer's file would only make its rename
 * fail: the cache is never damaged either way.)
 */
export const ABANDONED_TEMP_MS = 600_000;

/** Bytes of a file and the identity of what was read. */
export interface FileRead {
  /** The bytes (whole file, or head + tail for footer reads). */
  bytes: Uint8Array;
  /** File size. */
  size: number;
  /**
   * Identity at read time (device, inode, size, mtime), to avoid moving a
   * file replaced meanwhile; absent for whole reads, whose bytes serve instead.
   */
  identity?: string;
}

function identityOf(info: Deno.FileInfo): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtime?.getTime()}`;
}

/**
 * Something other than a regular file where a partition file belongs (a
 * folder, a symbolic link, a FIFO, a socket, a device): never opened, since
 * opening a FIFO blocks until a writer comes, and a link may lead anywhere.
 */
export class NotAFileError extends Error {
  /** What it is, e.g. "a FIFO". */
  readonly what: string;
  /** The read to pass to {@linkcode setAside}: its identity from `lstat`. */
  readonly read: FileRead;

  /**
   * Creates the instance.
   *
   * @param path The path.
   * @param info Its `lstat`.
   */
  constructor(path: string, info: Deno.FileInfo) {
    const what = kindOf(info);
    super(`Cannot use cache file "${path}": it is ${what}, not a file`);
    this.name = "NotAFileError";
    this.what = what;
    this.read = { bytes: new Uint8Array(0), size: 0, identity: identityOf(info) };
  }
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isSymlink) return "a symbolic link";
  if (info.isDirectory) return "a folder";
  if (info.isFifo) return "a FIFO";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "not a regular file";
}

/**
 * Throws {@linkcode NotAFileError} unless `path` is a regular file (one
 * `lstat`, which never follows a link); false when nothing is there.
 */
function isRegularFile(path: string): boolean {
  let info: Deno.FileInfo;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (!info.isFile) throw new NotAFileError(path, info);
  return true;
}

function readFullSync(file: Deno.FsFile, into: Uint8Array): void {
  let at = 0;
  while (at < into.length) {
    const n = file.readSync(into.subarray(at));
    if (n === null) throw new Deno.errors.UnexpectedEof(`File ended after ${at} bytes`);
    at += n;
  }
}

/**
 * Reads a whole file, or undefined when it does not exist; rejects with
 * {@linkcode NotAFileError} (without opening it) when it is not a regular file.
 *
 * One synchronous call on purpose: partition files are small and local, and
 * a sync read costs a fraction of the async ops' round trips through the
 * thread pool (a warm year of 1m is 365 files).
 *
 * @param knownFile The caller has just seen a regular file there (in a
 *   folder listing): the `lstat` is skipped.
 */
export function readWhole(path: string, knownFile = false): Promise<FileRead | undefined> {
  try {
    if (!knownFile && !isRegularFile(path)) return Promise.resolve(undefined);
    const bytes = Deno.readFileSync(path);
    return Promise.resolve({ bytes, size: bytes.length });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return Promise.resolve(undefined);
    return Promise.reject(err);
  }
}

/**
 * Reads the first 8 bytes and the footer of an Arrow IPC file (the footer
 * length sits 10 bytes before the end), or undefined when it does not exist;
 * rejects with {@linkcode NotAFileError} when it is not a regular file.
 */
export function readHeadAndFooter(path: string): Promise<FileRead | undefined> {
  return withOpenFile(path, (file) => {
    const info = file.statSync();
    const size = info.size;
    const identity = identityOf(info);
    if (size < 64) {
      const bytes = new Uint8Array(size);
      readFullSync(file, bytes);
      return { bytes, size, identity };
    }
    const trailer = new Uint8Array(10);
    file.seekSync(size - 10, Deno.SeekMode.Start);
    readFullSync(file, trailer);
    const footer = new DataView(trailer.buffer).getInt32(0, true);
    const tail = footer > 0 && footer <= size - 18 ? footer + 10 : 10;
    const bytes = new Uint8Array(8 + tail);
    file.seekSync(0, Deno.SeekMode.Start);
    readFullSync(file, bytes.subarray(0, 8));
    file.seekSync(size - tail, Deno.SeekMode.Start);
    readFullSync(file, bytes.subarray(8));
    return { bytes, size, identity };
  });
}

/**
 * Opens a file for reading, or throws. A missing file is an expected answer
 * here (every write first looks for the partition it may replace), and a
 * stack trace would cost more than the open: none is captured.
 */
function openQuietly(path: string): Deno.FsFile {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Deno.openSync(path, { read: true });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Opens a file for reading and runs `read` on it; undefined when it does not exist. */
function withOpenFile(
  path: string,
  read: (file: Deno.FsFile) => FileRead,
): Promise<FileRead | undefined> {
  let file: Deno.FsFile;
  try {
    if (!isRegularFile(path)) return Promise.resolve(undefined);
    file = openQuietly(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return Promise.resolve(undefined);
    return Promise.reject(err);
  }
  try {
    return Promise.resolve(read(file));
  } catch (err) {
    return Promise.reject(err);
  } finally {
    file.close();
  }
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Folders this process has made (or found) already, with when it last swept
 * their abandoned temporary files: one mkdir per folder, not per file.
 */
const madeFolders = new Map<string, number>();

/**
 * Removes the temporary files in `dir` untouched for
 * {@linkcode ABANDONED_TEMP_MS} (by the wall clock, as their mtime).
 *
 * @returns The paths removed.
 */
export function sweepAbandonedTemps(dir: string, now: number = Date.now()): string[] {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return removed;
  }
  for (const entry of entries) {
    if (!entry.isFile || !TEMP_PATTERN.test(entry.name)) continue;
    const path = join(dir, entry.name);
    try {
      const mtime = Deno.lstatSync(path).mtime?.getTime();
      if (mtime === undefined || now - mtime < ABANDONED_TEMP_MS) continue;
      Deno.removeSync(path);
      removed.push(path);
    } catch {
      // gone meanwhile, or renamed by its writer
    }
  }
  return removed;
}

function openNew(path: string, onSwept: (paths: string[]) => void): Deno.FsFile {
  const dir = dirname(path);
  const swept = madeFolders.get(dir);
  const now = Date.now();
  if (swept === undefined || now - swept >= ABANDONED_TEMP_MS) {
    Deno.mkdirSync(dir, { recursive: true });
    // The first write to a folder (and one every ABANDONED_TEMP_MS after)
    // removes what killed writers left there.
    const removed = sweepAbandonedTemps(dir, now);
    if (removed.length > 0) onSwept(removed);
    madeFolders.set(dir, now);
  }
  try {
    return Deno.openSync(path, { write: true, createNew: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    // The folder was removed since (a cache clear): make it again.
    Deno.mkdirSync(dir, { recursive: true });
    return Deno.openSync(path, { write: true, createNew: true });
  }
}

/**
 * Writes `bytes` to `path` atomically: a unique temporary file in the same
 * folder (`{name}.{pid}.{random}.tmp`), then renamed over the target.
 * Readers, and a process killed at any point, see the old file or the new
 * one, never a mix.
 *
 * The file is not flushed to disk before the rename (an fsync per partition
 * would cost more than the rest of the write): after a power cut, a file may
 * be damaged, and the next read finds it so (magic, footer, CRC-32), sets it
 * aside and fetches the partition again.
 *
 * The first write to a folder in this process (and one every
 * {@linkcode ABANDONED_TEMP_MS} after) first removes the folder's abandoned
 * temporary files, left by killed writers.
 *
 * @param beforeRename Called once the data is written; return false to
 *   drop the write (the temporary file is removed).
 * @param onSwept Hears the abandoned temporary files removed.
 * @returns False when `beforeRename` dropped the write.
 */
export async function writeAtomic(
  path: string,
  bytes: Uint8Array,
  beforeRename: () => Promise<boolean>,
  onSwept: (paths: string[]) => void = () => {},
): Promise<boolean> {
  // Synchronous file calls, as in readWhole: small local files, where the
  // async ops' thread-pool round trips cost more than the I/O.
  const temp = join(dirname(path), `${basename(path)}.${Deno.pid}.${randomHex()}.tmp`);
  let renamed = false;
  try {
    const file = openNew(temp, onSwept);
    try {
      for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
    } finally {
      file.close();
    }
    if (!(await beforeRename())) return false;
    await renameReplacing(temp, path);
    renamed = true;
    return true;
  } finally {
    if (!renamed) await Deno.remove(temp).catch(() => {});
  }
}

async function renameReplacing(from: string, to: string): Promise<void> {
  // Windows refuses to replace a file another process holds open; retry briefly.
  for (let attempt = 0;; attempt++) {
    try {
      return Deno.renameSync(from, to);
    } catch (err) {
      const retry = Deno.build.os === "windows" && attempt < 5 &&
        (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.Busy);
      if (!retry) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
    }
  }
}

/**
 * Renames a corrupt file to `{path}.corrupt-{time}` unless it was replaced
 * since it was read: its identity changed, or (for whole reads) its bytes.
 *
 * @param read What was read and found corrupt.
 * @returns The new path, or undefined when the file was gone or replaced.
 */
export async function setAside(
  path: string,
  read: FileRead,
  time: number,
): Promise<string | undefined> {
  try {
    if (!(await unchanged(path, read))) return undefined;
    const target = `${path}.corrupt-${time}`;
    await Deno.rename(path, target);
    return target;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function unchanged(path: string, read: FileRead): Promise<boolean> {
  // lstat: a link is moved itself, never what it points to.
  if (read.identity !== undefined) return identityOf(await Deno.lstat(path)) === read.identity;
  if (!(await Deno.lstat(path)).isFile) return false; // replaced by something never opened
  const now = await Deno.readFile(path);
  return now.length === read.bytes.length && now.every((b, i) => b === read.bytes[i]);
}
