import assert from "node:assert/strict";
import { parseEmulatorArgs, runEmulatorCli } from "../../src/emulator/main.ts";

const MAIN = new URL("../../src/emulator/main.ts", import.meta.url).pathname;

async function firstLine(
  stream: ReadableStream<Uint8Array>,
): Promise<{ line: string; reader: ReadableStreamDefaultReader<string> }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  return { line: text.split("\n")[0], reader };
}

Deno.test("CLI prints its base URL on the first line, serves, and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      MAIN,
      "--port",
      "0",
      "--seed",
      "3",
      "--now",
      "1795595415000",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const { line, reader } = await firstLine(child.stdout);
  assert.match(line, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${line}/api/v3/time`);
  assert.deepEqual(await res.json(), { serverTime: 1795595415000 });
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0);
  await reader.cancel();
});

Deno.test("CLI parses fault flags into emulator options", () => {
  assert.deepEqual(
    parseEmulatorArgs([
      "--port=8080",
      "--seed",
      "7",
      "--latency",
      "20",
      "--jitter",
      "5",
      "--reset-rate",
      "0.1",
      "--truncate-rate",
      "0.2",
      "--missing-rate",
      "0.3",
      "--missing-status",
      "403",
      "--mismatch-rate",
      "0.4",
      "--partial-rate",
      "0.5",
      "--lag-days",
      "2",
      "--no-checksum-newline",
      "--restrict-451",
      "--no-gaps",
      "--now",
      "2024-01-01T00:00:00Z",
      "--weight-window-ms",
      "1000",
      "--history",
      "clean",
    ]),
    {
      port: 8080,
      seed: 7,
      latencyMs: 20,
      jitterMs: 5,
      resetRate: 0.1,
      truncateRate: 0.2,
      missingFiles: 0.3,
      missingStatus: 403,
      checksumMismatch: 0.4,
      partialFiles: 0.5,
      publicationLagDays: 2,
      checksumNewline: false,
      restrict451: true,
      gaps: [],
      now: Date.UTC(2024, 0, 1),
      weightWindowMs: 1000,
      history: "clean",
    },
  );
  assert.equal(parseEmulatorArgs(["-h"]), "help");
  assert.throws(() => parseEmulatorArgs(["--history", "messy"]), /expected real or clean/);
});

Deno.test("CLI usage errors return 2 with a message; --help prints the usage", async () => {
  const stop = new AbortController();
  for (
    const args of [
      ["--bogus"],
      ["--port", "abc"],
      ["--port", "70000"],
      ["--port", "80.5"],
      ["--missing-status", "500"],
      ["--now", "yesterday"],
      ["--error-rate", "2"],
      ["--reset-rate", "1.5"],
      ["--truncate-rate", "-0.1"],
      ["--missing-rate", "3"],
      ["--mismatch-rate", "NaN"],
      ["--partial-rate", "100"],
    ]
  ) {
    const errors: string[] = [];
    const code = await runEmulatorCli(args, {
      signal: stop.signal,
      printError: (l) => errors.push(l),
    });
    assert.equal(code, 2, args.join(" "));
    assert.match(errors[0], /Usage: emulator/);
  }
  const out: string[] = [];
  assert.equal(
    await runEmulatorCli(["--help"], { signal: stop.signal, print: (l) => out.push(l) }),
    0,
  );
  assert.match(out[0], /--error-rate R/);
});

Deno.test("CLI on a busy port exits 1 with one line on stderr, no stack trace", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", MAIN, "--port", String(port)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1, stderr);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  assert.equal(
    stderr,
    `Cannot start the emulator: port ${port} on 127.0.0.1 is in use; ` +
      "pick another with --port, or --port 0 for any free one\n",
  );
});

Deno.test("CLI fault rates must be shares from 0 to 1", () => {
  assert.deepEqual(parseEmulatorArgs(["--error-rate", "1", "--reset-rate", "0"]), {
    errorRate: 1,
    resetRate: 0,
  });
  assert.throws(() => parseEmulatorArgs(["--error-rate", "2"]), {
    name: "RangeError",
    message: 'Cannot use --error-rate "2": expected a share from 0 to 1',
  });
});
