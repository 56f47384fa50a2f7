/**
 * {@linkcode CacheFiles} in a folder: whole and footer reads that never open
 * a non-file, atomic writes through a temporary file, set-aside copies
 * beside the damaged file (`{name}.corrupt-{time}`), and folders that lead
 * out of the root refused.
 *
 * @module
 */
import { join } from "node:path";
import { CacheError } from "../core/errors.ts";
import type { CacheFiles, FileRead, FolderListing } from "./cache_files.ts";
import { readHeadAndFooter, readWhole, setAside, writeAtomic } from "./_fs_io.ts";
import { assertUnder, escapesRoot, resolveRoot } from "./_kline_paths.ts";

const SET_ASIDE = /^(.+\.arrow)\.corrupt-\d+$/;

/** Entry names of a folder; none when it does not exist. */
async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return out;
    throw new CacheError(`Cannot list cache folder "${dir}"`, dir, { cause });
  }
  return out;
}

/** The files of a cache folder. */
export class FsCacheFiles implements CacheFiles {
  readonly root: string;
  readonly writable: boolean;

  /**
   * @param root The cache root (made absolute).
   * @param writable False to never write, move or delete.
   */
  constructor(root: string, writable: boolean) {
    this.root = resolveRoot(root);
    this.writable = writable;
  }

  name(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  refusal(folder: string): string | undefined {
    const path = this.name(folder);
    assertUnder(this.root, path);
    return escapesRoot(this.root, path);
  }

  folders(folder: string): Promise<string[]> {
    return entries(this.name(folder));
  }

  async list(folder: string): Promise<FolderListing> {
    const out: FolderListing = { files: [], setAside: [] };
    for (const name of await entries(this.name(folder))) {
      const original = SET_ASIDE.exec(name)?.[1];
      if (original !== undefined) out.setAside.push({ name: original, key: `${folder}/${name}` });
      else if (name.endsWith(".arrow")) out.files.push({ name });
    }
    return out;
  }

  async stat(key: string): Promise<{ bytes: number; modifiedAt?: number } | undefined> {
    const info = await Deno.lstat(this.name(key)).catch(() => undefined);
    return info && { bytes: info.size, modifiedAt: info.mtime?.getTime() };
  }

  read(key: string): Promise<FileRead | undefined> {
    return readWhole(this.name(key));
  }

  readFooter(key: string): Promise<FileRead | undefined> {
    return readHeadAndFooter(this.name(key));
  }

  async exists(key: string): Promise<boolean> {
    const info = await Deno.lstat(this.name(key)).catch(() => undefined);
    return info?.isFile === true;
  }

  async write(
    key: string,
    bytes: Uint8Array,
    keeps: (existing: Uint8Array) => boolean,
  ): Promise<boolean> {
    const path = this.name(key);
    const kept = async () => {
      const existing = await readWhole(path).catch(() => undefined);
      return existing !== undefined && keeps(existing.bytes);
    };
    if (await kept()) return false;
    // Asked again just before the rename: another process may have stored Vision data.
    return await writeAtomic(path, bytes, async () => !(await kept()));
  }

  setAside(key: string, read: FileRead, now: number): Promise<string | undefined> {
    return setAside(this.name(key), read, now);
  }

  async remove(key: string): Promise<boolean> {
    try {
      await Deno.remove(this.name(key));
      return true;
    } catch (cause) {
      if (cause instanceof Deno.errors.NotFound) return false;
      throw cause;
    }
  }

  async removeFolder(folder: string): Promise<void> {
    await Deno.remove(this.name(folder)).catch(() => {});
  }
}
