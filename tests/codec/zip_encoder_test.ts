import assert from "node:assert/strict";
import { encodeZip, encodeZipEntries } from "../../src/codec/zip_encoder.ts";
import { unzipSingleEntry } from "../../src/codec/unzip_stream.ts";

const DATA = new TextEncoder().encode(
  "1672531200000,16541.77000000,16544.76000000,16538.45000000,16543.67000000,83.08143000\n"
    .repeat(500),
);

async function run(cmd: string, args: string[], cwd: string): Promise<Uint8Array | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "null" })
      .output();
    return out.success ? out.stdout : undefined;
  } catch {
    return undefined;
  }
}

Deno.test("encodeZip writes local sizes or a data descriptor", async () => {
  const plain = await encodeZip("a.csv", DATA);
  const view = new DataView(plain.buffer);
  assert.equal(view.getUint32(0, true), 0x04034b50);
  assert.equal(view.getUint16(6, true) & 8, 0);
  assert.equal(view.getUint16(8, true), 8);
  assert.equal(view.getUint32(22, true), DATA.length);
  assert.ok(plain.length < DATA.length / 10);

  const deferred = await encodeZip("a.csv", DATA, { dataDescriptor: true });
  const dv = new DataView(deferred.buffer);
  assert.equal(dv.getUint16(6, true) & 8, 8);
  assert.equal(dv.getUint32(14, true), 0);
  assert.equal(dv.getUint32(18, true), 0);
  assert.equal(dv.getUint32(22, true), 0);
  const descriptor = 30 + 5 + view.getUint32(18, true);
  assert.equal(dv.getUint32(descriptor, true), 0x08074b50);
  assert.equal(dv.getUint32(descriptor + 4, true), view.getUint32(14, true));
  assert.equal(dv.getUint32(descriptor + 12, true), DATA.length);
});

Deno.test("encodeZip round-trips through unzipSingleEntry for every option", async () => {
  for (const dataDescriptor of [false, true]) {
    for (const method of ["deflate", "store"] as const) {
      for (const level of [0, 1, 9]) {
        const zip = await encodeZip("a.csv", DATA, { dataDescriptor, method, level });
        assert.deepEqual(await unzipSingleEntry(zip), DATA);
      }
    }
  }
});

Deno.test("encodeZip is deterministic and writes the given time", async () => {
  assert.deepEqual(await encodeZip("a.csv", DATA), await encodeZip("a.csv", DATA));
  const zip = await encodeZip("a.csv", DATA, { modified: new Date("2024-03-05T10:20:30Z") });
  const view = new DataView(zip.buffer);
  assert.equal(view.getUint16(10, true), (10 << 11) | (20 << 5) | 15);
  assert.equal(view.getUint16(12, true), (44 << 9) | (3 << 5) | 5);
});

Deno.test("encodeZip rejects a bad level", async () => {
  await assert.rejects(encodeZip("a.csv", DATA, { level: 10 }), RangeError);
  await assert.rejects(encodeZip("a.csv", DATA, { level: 1.5 }), RangeError);
});

Deno.test("encodeZip output is read by unzip and Python zipfile", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names = ["BTCUSDT-1m-2024-01-01.csv", "caf\u00e9.csv"];
    let checked = 0;
    for (const dataDescriptor of [false, true]) {
      for (const method of ["deflate", "store"] as const) {
        for (const name of names) {
          const file = `${dir}/t.zip`;
          await Deno.writeFile(file, await encodeZip(name, DATA, { dataDescriptor, method }));
          const unzipOut = await run("unzip", ["-p", file], dir);
          if (unzipOut) {
            assert.deepEqual(unzipOut, DATA);
            checked++;
          }
          const py = "import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1])\n" +
            "assert z.testzip() is None\n[i]=z.infolist()\n" +
            "assert i.filename==sys.argv[2], i.filename\nsys.stdout.buffer.write(z.read(i))";
          const pyOut = await run("python3", ["-c", py, file, name], dir);
          if (pyOut) {
            assert.deepEqual(pyOut, DATA);
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 0, "neither unzip nor python3 is available");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeZipEntries writes several entries that Python zipfile lists", async () => {
  const zip = await encodeZipEntries([
    { name: "a.csv", data: DATA },
    { name: "b.csv", data: new Uint8Array(0) },
  ], { dataDescriptor: true });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/m.zip`, zip);
    const py = "import zipfile\nz=zipfile.ZipFile('m.zip')\nassert z.testzip() is None\n" +
      "print(','.join(f'{i.filename}:{i.file_size}' for i in z.infolist()))";
    const out = await run("python3", ["-c", py], dir);
    if (out) assert.equal(new TextDecoder().decode(out).trim(), `a.csv:${DATA.length},b.csv:0`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
