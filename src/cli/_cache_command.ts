/**
 * `dsm cache ls | stats | verify | clear`: the cache maintenance commands.
 * The partition store is not part of this build yet, so each subcommand is
 * parsed and then reports that it is not available.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./_fetch_args.ts";

/** Subcommands of `dsm cache`. */
export const CACHE_SUBCOMMANDS = ["ls", "stats", "verify", "clear"] as const;

/** A parsed `dsm cache` command. */
export interface CacheArgs {
  /** Subcommand. */
  command: typeof CACHE_SUBCOMMANDS[number];
  /** Cache folder, if given. */
  dir?: string;
}

/**
 * Parses `dsm cache <subcommand> [--cache-dir DIR]`.
 *
 * @param args The arguments after `cache`.
 * @param env Environment lookup for `DSM_CACHE_DIR`.
 * @returns The command, or `"help"`.
 * @throws {UsageError} For an unknown subcommand or flag.
 */
export function parseCacheArgs(
  args: string[],
  env: (name: string) => string | undefined,
): CacheArgs | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { "cache-dir": { type: "string" }, "help": { type: "boolean", short: "h" } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) return "help";
  const [command, ...rest] = parsed.positionals;
  if (command === undefined) throw new UsageError("Cannot run dsm cache: a subcommand is required");
  if (!(CACHE_SUBCOMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(
      `Cannot run dsm cache "${command}": expected one of ${CACHE_SUBCOMMANDS.join(", ")}`,
    );
  }
  if (rest.length > 0) throw new UsageError(`Cannot run dsm cache: unexpected "${rest[0]}"`);
  const dir = parsed.values["cache-dir"] ?? env("DSM_CACHE_DIR");
  return { command: command as CacheArgs["command"], ...(dir ? { dir } : {}) };
}

/**
 * Runs a cache command.
 *
 * @param args The parsed command.
 * @throws {Error} Always, until the partition store is part of the build.
 */
export function runCacheCommand(args: CacheArgs): Promise<number> {
  return Promise.reject(
    new Error(
      `Cannot run dsm cache ${args.command}: the cache is not available in this build`,
    ),
  );
}
