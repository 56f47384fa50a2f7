import assert from "node:assert/strict";

Deno.test("the demo runs offline with the task's permissions: cold, then warm from the cache", async () => {
  const task = JSON.parse(await Deno.readTextFile("deno.json")).tasks.demo as string;
  const args = task.split(/\s+/).slice(1); // drop "deno"
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  for (const market of ["spot BTCUSDT", "um BTCUSDT", "cm BTCUSD_PERP"]) {
    assert.match(out, new RegExp(`${market} 1m: \\d+ rows`));
  }
  assert.equal(out.match(/same rows: true/g)?.length, 3);
  assert.equal(out.match(/\d+ × cache; 0 requests/g)?.length, 3);
  assert.match(out, /last 6 hours: \d+ closed candles; [^\n]*rest/);
});
