/**
 * Every command line and permission set of README.md, run in subprocesses as
 * printed. The commands and flags are parsed from the README itself (its
 * fenced `sh` and `json` blocks, its `ts` example and its Permissions table),
 * so that this test breaks when the README drifts from the code.
 *
 * Each subprocess runs in a throwaway copy of the project (`deno.json`,
 * `deno.lock`, links to the entry files, `src/`, `examples/`), so that files a
 * command writes (`--out btc.parquet`) stay out of the checkout, with an
 * empty HOME and a `deno` on PATH that is this test's own Deno.
 *
 * The README points at real Binance. Every command is pointed at an emulator
 * on 127.0.0.1 through what the README documents for that
 * (`DSM_VISION_URL`, `DSM_LISTING_URL`, `DSM_REST_URL`, `DSM_CACHE_DIR`),
 * and nothing else is changed, except where a line cannot run offline or on
 * a shared machine as written; each such substitution is listed where it is
 * made:
 * - `npx -y deno@X` is this Deno (checked to be version X) and `task test` is
 *   not run (it is the suite running this test);
 * - `--vision-url https://data.binance.vision` names the real host, and the
 *   flag wins over `DSM_VISION_URL`: the emulator's URL takes its place;
 * - `--port 8080` becomes `--port 0`: a fixed port may be taken on the machine;
 * - `<hosts>` in `--allow-net` is Binance's hosts plus `127.0.0.1`;
 * - the library example gets `endpoints` (the library reads no `DSM_*_URL`);
 * - `deno serve` gets `DENO_SERVE_ADDRESS=tcp:127.0.0.1:0` (its own port).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import pl from "nodejs-polars";
import { startEmulator } from "../../src/emulator/emulator.ts";
import { marketInfo, MARKETS, VISION_LISTING_URL, VISION_URL } from "../../src/core/market.ts";
import { main as dsmMain } from "../../src/cli/main.ts";
import { filesUnder } from "./_harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const README = await Deno.readTextFile(join(ROOT, "README.md"));
const TIMEOUT_MS = 60_000; // a hang fails the test instead of blocking the suite
const unix = Deno.build.os !== "windows";

// ---------------------------------------------------------------- README parsing

/** The text of a `## title` section, up to the next `## ` heading. */
function section(title: string): string {
  const at = README.indexOf(`\n## ${title}\n`);
  assert.ok(at >= 0, `README has no "## ${title}" section`);
  const end = README.indexOf("\n## ", at + 1);
  return README.slice(at, end < 0 ? undefined : end);
}

/** The fenced blocks of a language in a text. */
function blocks(text: string, lang: string): string[] {
  const re = new RegExp("^```" + lang + "[^\\n]*\\n([\\s\\S]*?)^```", "gm");
  return [...text.matchAll(re)].map((m) => m[1]);
}

/** Command lines of a `sh` block: continuations joined, comment-only and blank lines left out. */
function commandLines(block: string): string[] {
  return block.replace(/\\\n\s*/g, "").split("\n").filter((l) => l.trim() && !/^\s*#/.test(l));
}

/** The Permissions table: the use, and the backticked spans of the flags column. */
function permissionRows(): { use: string; spans: string[] }[] {
  const rows = section("Permissions").split("\n").filter((l) => l.startsWith("|"));
  return rows.slice(2).map((row) => {
    const [use, flags] = row.split(/(?<!\\)\|/).slice(1, 3).map((c) => c.trim());
    return { use, spans: [...flags.matchAll(/`([^`]+)`/g)].map((m) => m[1]) };
  });
}

/** The `<hosts>` list of the Permissions section. */
function readmeHosts(): string {
  const hosts = section("Permissions").match(/`<hosts>` stands for [^`]*`([a-z0-9.,-]+)`/)?.[1];
  assert.ok(hosts, "README defines no `<hosts>`");
  return hosts;
}

// ---------------------------------------------------------------- the sandbox

/** Deno's own cache folder, which would otherwise follow the children's HOME. */
const INFO = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "null" }).output())
      .stdout,
  ),
) as { denoDir: string; npmCache: string };
const DENO_DIR = Deno.env.get("DENO_DIR") ?? INFO.denoDir;

interface Sandbox extends AsyncDisposable {
  /** The throwaway project copy, cwd of every command. */
  project: string;
  /** Empty HOME of the children. */
  home: string;
  /** Temp root, for caches and output files. */
  root: string;
  /** The children's environment. */
  env: Record<string, string>;
}

/** Variables that tell Deno how this machine reaches the npm registry. */
const NETWORK_ENV = [
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
  "NPM_CONFIG_REGISTRY",
];

/** The set ones of {@linkcode NETWORK_ENV}. */
function machineNetworkEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of NETWORK_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** The entry files of `deno.json`'s exports (`mod.ts`, `codec.ts` ...), and `src` for the others. */
const ENTRIES: Set<string> = new Set(
  Object.values(JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).exports)
    .map((path) => String(path).replace(/^\.\//, "").split("/")[0]),
);

/** Links the entry files, `src/`, `examples/` and copies `deno.json` and `deno.lock` into `dir`. */
async function projectCopy(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const name of ["deno.json", "deno.lock"]) {
    await Deno.copyFile(join(ROOT, name), join(dir, name));
  }
  for (const name of new Set([...ENTRIES, "src", "examples"])) {
    await Deno.symlink(join(ROOT, name), join(dir, name));
  }
}

async function sandbox(emulatorUrl: string): Promise<Sandbox> {
  const root = await Deno.makeTempDir({ prefix: "dsm_readme_" });
  const project = join(root, "data-source-manager");
  const home = join(root, "home");
  const bin = join(root, "bin");
  await projectCopy(project);
  await Deno.mkdir(home);
  await Deno.mkdir(bin);
  await Deno.symlink(Deno.execPath(), join(bin, "deno"));
  const env: Record<string, string> = {
    // The machine's network settings (certificates, proxies, registry) stay:
    // a user's shell has them too, and a fresh DENO_DIR downloads packages.
    ...machineNetworkEnv(),
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    HOME: home,
    DENO_DIR,
    NO_COLOR: "1",
    DSM_VISION_URL: emulatorUrl,
    DSM_LISTING_URL: emulatorUrl,
    DSM_REST_URL: emulatorUrl,
  };
  return {
    project,
    home,
    root,
    env,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs a command line through `sh`, as a user would type it. */
async function sh(box: Sandbox, line: string, env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command("sh", {
    args: ["-c", line],
    cwd: box.project,
    clearEnv: true,
    env: { ...box.env, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Runs `deno run --no-prompt <flags> <script> <args>` in the project copy. */
async function denoRun(
  box: Sandbox,
  flags: string[],
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, script, ...args],
    cwd: box.project,
    clearEnv: true,
    env: { ...box.env, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/**
 * Starts a long-running command (killed after {@linkcode TIMEOUT_MS} at the
 * latest) and reads its stdout or stderr until the text matches `ready`.
 */
async function startServer(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; ready: RegExp; from: "stdout" | "stderr" },
): Promise<{ match: RegExpMatchArray } & AsyncDisposable> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    clearEnv: true,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).spawn();
  const other = new Response(options.from === "stdout" ? child.stderr : child.stdout).text();
  const reader = child[options.from].pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let match: RegExpMatchArray | null = null;
  while (!(match = seen.match(options.ready))) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      assert.fail(`${options.ready} never came: ${seen}\n${await other}`);
    }
    seen += value;
  }
  return {
    match,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
      await other;
    },
  };
}

/** A permission flag string with its placeholders filled in, as arguments. */
function flagsOf(span: string, fill: Record<string, string>): string[] {
  let flags = span;
  for (const [name, value] of Object.entries(fill)) flags = flags.replaceAll(`<${name}>`, value);
  assert.doesNotMatch(flags, /<[^>]+>/, `unfilled placeholder in ${span}`);
  return flags.split(/\s+/);
}

// ---------------------------------------------------------------- the tests

Deno.test({
  name: "README: the two commands run as written (the demo; the test task is this suite)",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({});
    await using box = await sandbox(emu.url);
    const lines = commandLines(blocks(section("Two commands"), "sh").join("\n"));
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const m = line.match(/^npx -y deno@(\S+) task (\S+)\s*(#.*)?$/);
      assert.ok(m, `not a task line: ${line}`);
      assert.equal(m[1], Deno.version.deno, "the README's Deno is the one running the tests");
      if (m[2] === "test") continue; // the suite that runs this test
      assert.equal(m[2], "demo", line);
      const run = await sh(box, line.replace(/^npx -y deno@\S+/, "deno"));
      assert.equal(run.code, 0, run.stderr);
      const out = run.stdout;
      for (const market of ["spot BTCUSDT", "um BTCUSDT", "cm BTCUSD_PERP"]) {
        assert.match(out, new RegExp(`${market} 1m: \\d+ rows`));
      }
      assert.equal(out.match(/same rows: true/g)?.length, 3);
      assert.equal(out.match(/\d+ × cache; 0 requests/g)?.length, 3);
      assert.match(out, /last 6 hours: \d+ closed candles; [^\n]*rest/);
      assert.match(out, /synthetic/, "the demo says its prices are made up");
      assert.match(out, /Next:/, "the demo says what to try next");
      assert.deepEqual(await filesUnder(box.home), [], "the demo leaves nothing behind");
    }
  },
});

Deno.test({
  name: "README: each command line of the Command line section runs as written",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({});
    await using box = await sandbox(emu.url);
    const cache = join(box.root, "cache");
    const lines = commandLines(blocks(section("Command line"), "sh").join("\n"));
    assert.ok(lines.length >= 5, `too few command lines: ${lines}`);
    for (const written of lines) {
      assert.match(written, /^deno task dsm /);
      // The flag names the real host and wins over DSM_VISION_URL.
      const line = written.replaceAll("https://data.binance.vision", emu.url)
        // A fixed port may be taken by another process on the machine.
        .replace(/--port \d+/, "--port 0");
      if (/^deno task dsm emulator\b/.test(line)) {
        // exec: the signal that ends it reaches deno task, which passes it on
        await using server = await startServer("sh", ["-c", `exec ${line}`], {
          cwd: box.project,
          env: box.env,
          ready: /^(http:\/\/127\.0\.0\.1:\d+)\n/,
          from: "stdout",
        });
        const url = server.match[1];
        const res = await fetch(`${url}/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=2`);
        assert.equal(res.status, 200);
        assert.equal((await res.json()).length, 2);
        continue;
      }
      const run = await sh(box, line, { DSM_CACHE_DIR: cache });
      assert.equal(run.code, 0, `${written}\n${run.stderr}`);
      const out = line.match(/--out (\S+)/)?.[1];
      const format = line.match(/--format (\S+)/)?.[1] ?? "csv";
      const report = line.match(/--report (\S+)/)?.[1];
      let rows: number | undefined;
      if (out && format === "parquet") rows = pl.readParquet(join(box.project, out)).height;
      else if (out && format === "arrow") {
        rows = tableFromIPC(await Deno.readFile(join(box.project, out))).numRows;
      }
      if (report) {
        const json = JSON.parse(await Deno.readTextFile(join(box.project, report)));
        assert.equal(json.partial, false, written);
        if (rows !== undefined) assert.equal(json.rows, rows, written);
        assert.ok(json.rows > 0, written);
      }
      if (/\| head\s*$/.test(line)) {
        const shown = run.stdout.trimEnd().split("\n");
        assert.equal(shown.length, 10, written);
        assert.match(shown[0], /^open_time,open,high,low,close,volume,close_time,/);
      }
      if (/ cache stats/.test(line)) assert.match(run.stdout, /BTCUSDT/, written);
    }
  },
});

Deno.test({
  name: "README: each permission set runs its use with exactly the printed flags",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({});
    await using box = await sandbox(emu.url);
    const hosts = readmeHosts();
    const expected = new Set([new URL(VISION_URL).host, new URL(VISION_LISTING_URL).host]);
    for (const market of MARKETS) {
      const info = marketInfo(market);
      for (const url of [info.restHosts[0], ...info.marketDataHosts]) {
        expected.add(new URL(url).host);
      }
    }
    assert.deepEqual(new Set(hosts.split(",")), expected, "<hosts> are the library's defaults");
    const cache = join(box.root, "cache");
    const npm = INFO.npmCache;
    const fill = { hosts: `${hosts},127.0.0.1`, "cache dir": cache, "npm cache": npm };
    // The README's example, pointed at the emulator (the library reads no DSM_*_URL).
    const example = blocks(section("Example"), "ts")[0].replace(
      `new DataSourceManager({ market: "spot" })`,
      `new DataSourceManager({ market: "spot", endpoints: { vision: "${emu.url}", ` +
        `listing: "${emu.url}", rest: "${emu.url}" } })`,
    );
    assert.match(example, /endpoints/);
    await Deno.writeTextFile(join(box.project, "example.ts"), example);
    const claimed = example.match(/\/\/ (\d+) \[\] \{ key: "([^"]+)"/);
    assert.ok(claimed, "the example's comment states rows, gaps and the first partition");
    const streamed = example.match(/interval: "1s",\s*start: "([^"]+)",\s*end: "([^"]+)"/);
    assert.ok(streamed, "the example streams 1s klines");
    const days = (Date.parse(streamed[2]) - Date.parse(streamed[1])) / 86_400_000;
    const checkExample = (run: Run) => {
      assert.equal(run.code, 0, run.stderr);
      const [first, ...batches] = run.stdout.trim().split("\n").filter((l) => /^\d/.test(l));
      assert.match(first, new RegExp(`^${claimed[1]} \\[\\] \\{`));
      assert.match(run.stdout, new RegExp(`key: "${claimed[2]}"`));
      const sizes = batches.map(Number);
      assert.equal(sizes.reduce((a, b) => a + b, 0), days * 86_400);
      // the comment's batch sizes, day after day
      const perDay = example.match(/console\.log\(batch\.numRows\); \/\/ ([\d ]+) per day/)?.[1];
      assert.ok(perDay, "the example's comment states the batches of a day");
      assert.deepEqual(sizes, Array(days).fill(perDay.split(" ").map(Number)).flat());
    };
    const used = new Set<string>();
    const outputs = (...names: string[]) => names.map((n) => join(box.root, n)).join(",");
    for (const { use, spans } of permissionRows()) {
      used.add(use);
      switch (use) {
        case "library with the cache": {
          const run = await denoRun(box, flagsOf(spans[0], fill), "example.ts", [], {
            DSM_CACHE_DIR: cache,
          });
          checkExample(run);
          const lastDay = new Date(Date.parse(streamed[2]) - 86_400_000).toISOString().slice(0, 10);
          const cached = await filesUnder(cache);
          assert.ok(
            cached.some((f) => f.endsWith(`/1s/${lastDay}.arrow`)),
            "the stream was cached",
          );
          assert.deepEqual(await filesUnder(box.home), []);
          break;
        }
        case "library without cache, Deno Deploy": {
          const empty = join(box.root, "no-cache");
          const run = await denoRun(box, flagsOf(spans[0], fill), "example.ts", [], {
            DSM_CACHE_DIR: empty,
          });
          checkExample(run);
          assert.deepEqual(await filesUnder(box.home), []);
          await assert.rejects(Deno.stat(empty));
          break;
        }
        case "`toPolars` (the `./polars` entry point)": {
          await Deno.writeTextFile(
            join(box.project, "polars_example.ts"),
            `import { tableFromArrays } from "apache-arrow";\n` +
              `import { toPolars } from "./src/polars.ts";\n` +
              `console.log(toPolars(tableFromArrays({ close: new Float64Array([1.5, 2.5]) })).height);\n`,
          );
          const run = await denoRun(box, flagsOf(spans[0], fill), "polars_example.ts");
          assert.equal(run.code, 0, run.stderr);
          assert.equal(run.stdout.trim(), "2");
          break;
        }
        case "`dsm fetch` / `dsm cache`": {
          const range = ["--symbol", "BTCUSDT", "--interval", "1h"]
            .concat(["--start", "2024-01-01", "--end", "2024-01-03"]);
          const env = { DSM_CACHE_DIR: cache };
          const files = ["k.csv", "k.ndjson", "k.arrow", "r.json", "t.json"];
          const flags = flagsOf(spans[0], { ...fill, "output files": outputs(...files) });
          const cli = "src/cli/main.ts";
          // CSV to stdout, then each format to a file with a report
          const csv = await denoRun(box, flags, cli, ["fetch", ...range, "--quiet"], env);
          assert.equal(csv.code, 0, csv.stderr);
          assert.equal(csv.stdout.trim().split("\n").length, 49);
          for (const format of ["csv", "ndjson", "arrow"]) {
            const out = join(box.root, `k.${format}`);
            const report = join(box.root, "r.json");
            const run = await denoRun(
              box,
              flags,
              cli,
              ["fetch", ...range, "--format", format, "--out", out, "--report", report],
              env,
            );
            assert.equal(run.code, 0, `${format}: ${run.stderr}`);
            const rows = format === "arrow"
              ? tableFromIPC(await Deno.readFile(out)).numRows
              : (await Deno.readTextFile(out)).trim().split("\n").length -
                (format === "csv" ? 1 : 0);
            assert.equal(rows, 48, format);
            assert.equal(JSON.parse(await Deno.readTextFile(report)).rows, 48, format);
          }
          // aggTrades of a whole month: its monthly archive spooled in the cache folder, the days cached
          const month = ["--symbol", "OLDUSDT", "--start", "2021-03-01", "--end", "2021-04-01"];
          const tradeReport = join(box.root, "t.json");
          const trades = await denoRun(
            box,
            flags,
            cli,
            ["fetch", "--dataset", "aggTrades", ...month, "--quiet", "--report", tradeReport],
            env,
          );
          assert.equal(trades.code, 0, trades.stderr);
          const report = JSON.parse(await Deno.readTextFile(tradeReport));
          assert.equal(report.partial, false);
          assert.equal(trades.stdout.trim().split("\n").length, report.rows + 1);
          assert.ok(
            report.partitions.every((p: { sources: string[] }) =>
              p.sources[0] === "vision-monthly"
            ),
          );
          const tradeFiles = await filesUnder(cache);
          assert.ok(tradeFiles.some((f) => f.endsWith("/aggTrades/OLDUSDT/2021-03-31.arrow")));
          assert.ok(!tradeFiles.some((f) => f.includes("spool")), "the spool is removed");
          for (const command of [["ls"], ["stats"], ["verify"], ["clear", "--interval", "1h"]]) {
            const run = await denoRun(box, flags, cli, ["cache", ...command], env);
            assert.equal(run.code, 0, `cache ${command[0]}: ${run.stderr}`);
          }
          assert.deepEqual(await filesUnder(box.home), []);
          break;
        }
        case "`dsm fetch --format parquet`": {
          const out = join(box.root, "k.parquet");
          const report = join(box.root, "p.json");
          const flags = flagsOf(spans[0], {
            ...fill,
            "output files": outputs("k.parquet", "p.json"),
          });
          const run = await denoRun(box, flags, "src/cli/main.ts", [
            "fetch",
            ...["--market", "um", "--symbol", "BTCUSDT", "--interval", "1h"],
            ...["--start", "2024-01-01", "--end", "2024-01-03"],
            ...["--format", "parquet", "--out", out, "--report", report],
          ], { DSM_CACHE_DIR: cache });
          assert.equal(run.code, 0, run.stderr);
          assert.equal(pl.readParquet(out).height, 48);
          assert.equal(JSON.parse(await Deno.readTextFile(report)).rows, 48);
          break;
        }
        case "`examples/edge.ts`": {
          const commands = spans.filter((s) => s.startsWith("deno serve "));
          assert.equal(commands.length, 2, "with and without the DSM_*_URL variables");
          for (const command of commands) {
            const [, serve, ...args] = command.split(/\s+/);
            await using server = await startServer(
              Deno.execPath(),
              [serve, "--no-prompt", ...args],
              {
                cwd: box.project,
                // deno serve's own way to choose the address: a free port on loopback
                env: { ...box.env, DENO_SERVE_ADDRESS: "tcp:127.0.0.1:0" },
                ready: /Listening on (http:\/\/127\.0\.0\.1:\d+)\//,
                from: "stderr",
              },
            );
            const url = server.match[1];
            const missing = await fetch(`${url}/nothing`);
            await missing.body?.cancel();
            assert.equal(missing.status, 404);
            if (!command.includes("--allow-env")) continue; // it would ask real Binance
            const res = await fetch(
              `${url}/klines?symbol=BTCUSDT&interval=1h&start=2024-01-01&end=2024-01-02&format=csv`,
            );
            assert.equal(res.status, 200);
            assert.equal((await res.text()).trim().split("\n").length, 25);
          }
          break;
        }
        case "demo, tests, benchmarks": {
          const tasks = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks;
          assert.match(tasks.demo, /--allow-net=127\.0\.0\.1 /, "the demo: loopback only");
          for (const flag of ["--allow-sys=cpus,networkInterfaces,hostname", "--allow-ffi"]) {
            assert.ok(tasks.dsm.split(" ").includes(flag), `deno task dsm grants ${flag}`);
          }
          break; // the tasks themselves run in the other tests
        }
        default:
          assert.fail(`no test runs the README's permission row "${use}"`);
      }
    }
    assert.equal(used.size, 7);
  },
});

Deno.test({
  name: "README: the module imports from another project as a workspace member or by import map",
  ignore: !unix,
  async fn() {
    await using emu = await startEmulator({});
    await using box = await sandbox(emu.url);
    const text = README.slice(README.indexOf("\n### From another project\n"));
    const [workspace, importMap] = blocks(text, "json").map((b) => JSON.parse(b));
    const imports = blocks(text, "ts")[0];
    assert.match(imports, /from "@dsm\/data-source-manager"/);
    const polars = permissionRows().find((r) => r.use.startsWith("`toPolars`"))!.spans[0];
    const flags = flagsOf(polars, { "npm cache": INFO.npmCache });
    const script = `${imports}\nconsole.log(typeof DataSourceManager, typeof toPolars);\n`;
    // a project holding the clone as a workspace member
    const app = join(box.root, "app");
    await projectCopy(join(app, workspace.workspace[0]));
    // and a project next to the clone (the sandbox's copy is "../data-source-manager")
    const other = join(box.root, "other");
    await Deno.mkdir(other);
    for (const [dir, config] of [[app, workspace], [other, importMap]] as const) {
      await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify(config));
      await Deno.writeTextFile(join(dir, "main.ts"), script);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", ...flags, "main.ts"],
        cwd: dir,
        clearEnv: true,
        env: box.env,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }).output();
      assert.equal(out.code, 0, `${dir}: ${new TextDecoder().decode(out.stderr)}`);
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "function function");
    }
    // the import map pins what deno.json pins
    const pins = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).imports;
    for (const [name, target] of Object.entries(importMap.imports)) {
      if (!name.startsWith("@dsm/")) assert.equal(target, pins[name], name);
    }
  },
});

Deno.test("README: the option lists and the dsm fetch flags name every option and flag", async () => {
  const source = (path: string) => Deno.readTextFile(join(ROOT, path));
  const fields = (code: string, name: string) => {
    const body = code.slice(code.indexOf(`export interface ${name} `));
    return [...body.slice(0, body.indexOf("\n}")).matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
  };
  const example = section("Example");
  const manager = example.slice(
    example.indexOf("Manager options:"),
    example.indexOf("Request fields:"),
  );
  const request = example.slice(example.indexOf("Request fields:"));
  for (
    const f of fields(await source("src/fcp/data_source_manager.ts"), "DataSourceManagerOptions")
  ) {
    assert.match(manager, new RegExp(`\`${f}\``), `Manager options lack \`${f}\``);
  }
  for (const f of fields(await source("src/fcp/kline_request.ts"), "KlineRequest")) {
    assert.match(request, new RegExp(`\`${f}\``), `Request fields lack \`${f}\``);
  }
  let help = "";
  const stdout = new WritableStream<Uint8Array>({ write: (b) => void (help += text(b)) });
  assert.equal(await dsmMain(["--help"], { stdout }), 0);
  // The `dsm fetch` list claims to be complete. (The cache commands' paragraph
  // names only their shared flags: `--quarantine` and `--all` are in `--help`.)
  const fetchHelp = help.slice(
    help.indexOf("dsm fetch options:"),
    help.indexOf("\n\n", help.indexOf("dsm fetch options:")),
  );
  const cli = section("Command line");
  const fetchList = cli.slice(cli.indexOf("`dsm fetch` flags:"), cli.indexOf("`dsm cache ls"));
  for (const flag of new Set(fetchHelp.match(/--[a-z][a-z-]*/g))) {
    if (flag === "--help") continue;
    assert.ok(fetchList.includes(`\`${flag}`), `the \`dsm fetch\` flags lack \`${flag}\``);
  }
});
