/**
 * The emulator of the end-to-end benchmark in its own process (so that
 * generating archives is charged to no contender), with its request counters
 * read over stdin and stdout.
 *
 * @module
 */

/** Request counters of the emulator since the previous read. */
export interface EmulatorCounts {
  /** Zip downloads. */
  vision: number;
  /** CHECKSUM downloads. */
  checksum: number;
  /** Listing pages. */
  listing: number;
  /** REST calls. */
  rest: number;
  /** Anything else. */
  other: number;
}

/** A running emulator process. */
export class EmulatorProcess implements AsyncDisposable {
  readonly url: string;
  readonly #child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  private constructor(
    url: string,
    child: Deno.ChildProcess,
    lines: ReadableStreamDefaultReader<string>,
  ) {
    this.url = url;
    this.#child = child;
    this.#lines = lines;
    this.#writer = child.stdin.getWriter();
  }

  /**
   * Starts `bench/_emulator_server.ts` and waits for its URL.
   *
   * @param options Latency per response and the fixed clock.
   * @returns The process.
   */
  static async start(options: { latencyMs: number; now: number }): Promise<EmulatorProcess> {
    const script = new URL("./_emulator_server.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        script,
        "--latency",
        String(options.latencyMs),
        "--now",
        String(options.now),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(splitLines())
      .getReader();
    const first = await lines.read();
    if (first.done || !/^http:\/\/127\.0\.0\.1:\d+$/.test(first.value)) {
      child.kill();
      await child.status;
      throw new Error(`Cannot start the emulator: it printed "${first.value ?? ""}"`);
    }
    return new EmulatorProcess(first.value, child, lines);
  }

  /**
   * Reads the request counters since the previous call, and resets them
   * (and the weight windows).
   *
   * @returns The counters.
   */
  async counts(): Promise<EmulatorCounts> {
    await this.#writer.write(new TextEncoder().encode("stats\n"));
    const line = await this.#lines.read();
    if (line.done) throw new Error("Cannot read the emulator's counters: it has exited");
    return JSON.parse(line.value).requests as EmulatorCounts;
  }

  /** Stops the emulator and waits for it. */
  async close(): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode("quit\n"));
      await this.#writer.close();
    } catch {
      // already gone
    }
    await this.#lines.cancel();
    await this.#child.status;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function splitLines(): TransformStream<string, string> {
  let pending = "";
  return new TransformStream({
    transform(chunk, controller) {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        controller.enqueue(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    },
    flush(controller) {
      if (pending !== "") controller.enqueue(pending);
    },
  });
}
