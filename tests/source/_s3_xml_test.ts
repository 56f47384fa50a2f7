import assert from "node:assert/strict";
import { NetworkError } from "../../src/core/errors.ts";
import {
  parseListBucketResult,
  parseListObjectsV2,
  parseS3Error,
  unescapeXml,
  XmlSyntaxError,
} from "../../src/source/_s3_xml.ts";
import * as visionListing from "../../src/source/vision_listing.ts";

/** Asserts that `run` throws an XmlSyntaxError whose message is exactly `message`. */
function throwsXml(run: () => unknown, message: string, input: string) {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof XmlSyntaxError, input);
    assert.equal(error.message, message, input);
    return true;
  });
}

Deno.test("unescapeXml resolves the predefined entities and numeric references", () => {
  assert.equal(unescapeXml("plain text, no references"), "plain text, no references");
  assert.equal(unescapeXml(""), "");
  assert.equal(unescapeXml("&amp;&lt;&gt;&quot;&apos;"), `&<>"'`);
  assert.equal(unescapeXml("a&amp;amp;b"), "a&amp;b");
  assert.equal(unescapeXml("k&#47;2&#x2F;3&#x2f;"), "k/2/3/");
  assert.equal(unescapeXml("&#65;&#x41;&#0000065;&#x000041;"), "AAAA");
  assert.equal(unescapeXml("&#x1F600;&#128512;"), "\u{1F600}\u{1F600}");
  assert.equal(unescapeXml("&#x10FFFF;&#1114111;"), "\u{10FFFF}\u{10FFFF}");
  assert.equal(unescapeXml("&#0;"), "\0");
  assert.equal(unescapeXml("&#233;t&#xe9; "), "été ");
});

Deno.test("unescapeXml rejects bare ampersands and invalid references", () => {
  const bare = ["a&b", "&", "a&", "&amp", "&&amp;", "a&b<c;", "x &amp;&y"];
  for (const text of bare) throwsXml(() => unescapeXml(text), "a bare '&'", text);
  const invalid: [string, string][] = [
    ["&nbsp;", "&nbsp;"],
    ["ok &amp; then &copy; and &bad", "&copy;"],
    ["&;", "&;"],
    ["&#;", "&#;"],
    ["&#x;", "&#x;"],
    ["&#X41;", "&#X41;"],
    ["&#x110000;", "&#x110000;"],
    ["&#1114112;", "&#1114112;"],
    ["&#12345678;", "&#12345678;"],
    ["&#x0000041;", "&#x0000041;"],
    ["&#-1;", "&#-1;"],
    ["&#x\u0010;", "&#x\u0010;"],
    ["&#xD800;", "&#xD800;"],
    ["&#57343;", "&#57343;"],
    ["&#6 5;", "&#6 5;"],
    ["&AMP;", "&AMP;"],
    ["&__proto__;", "&__proto__;"],
  ];
  for (const [text, entity] of invalid) {
    throwsXml(() => unescapeXml(text), `the entity "${entity}"`, text);
  }
});

const S3_PAGE = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>data.binance.vision</Name>
  <Prefix>data/spot/daily/klines/</Prefix>
  <Marker>data/spot/daily/klines/1INCHBTC/</Marker>
  <NextMarker>data/spot/daily/klines/AAVEUSDT/</NextMarker>
  <MaxKeys>1000</MaxKeys>
  <Delimiter>/</Delimiter>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>data/spot/daily/klines/README &amp; notes.txt</Key>
    <LastModified>2024-01-02T00:00:00.000Z</LastModified>
    <ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>
    <Size>0</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <CommonPrefixes><Prefix>data/spot/daily/klines/1INCHUSDT/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>data/spot/daily/klines/AAVEBTC/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix><![CDATA[data/spot/daily/klines/AAVEUSDT/]]></Prefix></CommonPrefixes>
</ListBucketResult>
`;

Deno.test("parseListBucketResult reads a real-looking S3 page", () => {
  assert.deepEqual(parseListBucketResult(S3_PAGE), {
    keys: ["data/spot/daily/klines/README & notes.txt"],
    prefixes: [
      "data/spot/daily/klines/1INCHUSDT/",
      "data/spot/daily/klines/AAVEBTC/",
      "data/spot/daily/klines/AAVEUSDT/",
    ],
    isTruncated: true,
    nextMarker: "data/spot/daily/klines/AAVEUSDT/",
  });
  assert.equal(visionListing.parseListBucketResult, parseListBucketResult);
});

Deno.test("parseListBucketResult: NextMarker absent or empty, keys kept verbatim", () => {
  const page = (inner: string) =>
    parseListBucketResult(`<ListBucketResult>${inner}</ListBucketResult>`);
  assert.deepEqual(page("<IsTruncated>\n false \n</IsTruncated>"), {
    keys: [],
    prefixes: [],
    isTruncated: false,
  });
  assert.equal("nextMarker" in page("<IsTruncated>true</IsTruncated><NextMarker/>"), false);
  assert.equal(
    "nextMarker" in page("<IsTruncated>true</IsTruncated><NextMarker></NextMarker>"),
    false,
  );
  assert.deepEqual(
    page("<IsTruncated>true</IsTruncated><Contents><Key> a b </Key></Contents>").keys,
    [" a b "],
  );
  // Only the first IsTruncated and NextMarker count; nested ones are not the page's.
  assert.deepEqual(
    page(
      "<Contents><Key>k</Key><IsTruncated>x</IsTruncated></Contents><IsTruncated>true</IsTruncated>" +
        "<NextMarker>m1</NextMarker><NextMarker>m2</NextMarker>",
    ),
    { keys: ["k"], prefixes: [], isTruncated: true, nextMarker: "m1" },
  );
});

Deno.test("parseListBucketResult reads 1000 keys in order", () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `data/k-${String(i).padStart(4, "0")}&.zip`);
  const xml = `<ListBucketResult><IsTruncated>true</IsTruncated>${
    keys.map((k) =>
      `<Contents><Key>${k.replace("&", "&amp;")}</Key><ETag>&quot;e&quot;</ETag>` +
      `<Size>1</Size></Contents>`
    ).join("")
  }<CommonPrefixes><Prefix>data/z/</Prefix></CommonPrefixes></ListBucketResult>`;
  const page = parseListBucketResult(xml);
  assert.deepEqual(page.keys, keys);
  assert.deepEqual(page.prefixes, ["data/z/"]);
  assert.equal(page.nextMarker, undefined);
});

Deno.test("parseListBucketResult wraps faults in a retryable NetworkError", () => {
  const cut = S3_PAGE.slice(0, S3_PAGE.indexOf("<CommonPrefixes>") + 16);
  const bad: [string, string, boolean][] = [
    [cut, 'the unclosed element "<CommonPrefixes>"', true],
    ["<Error><Code>SlowDown</Code></Error>", 'root element "<Error>"', false],
    ["<ListBucketResult/>", "IsTruncated is undefined", false],
    [
      "<ListBucketResult><IsTruncated>True</IsTruncated></ListBucketResult>",
      'IsTruncated is "True"',
      false,
    ],
    [
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key/></Contents></ListBucketResult>",
      "a Contents without Key",
      false,
    ],
    [
      "<ListBucketResult><IsTruncated>false</IsTruncated><CommonPrefixes/></ListBucketResult>",
      "a CommonPrefixes without Prefix",
      false,
    ],
  ];
  for (const [xml, why, fromParser] of bad) {
    assert.throws(
      () => parseListBucketResult(xml, "http://127.0.0.1:1/?prefix=a"),
      (error: unknown) => {
        assert.ok(error instanceof NetworkError, xml);
        assert.equal(error.code, "NETWORK_ERROR");
        assert.equal(
          error.message,
          `Cannot list http://127.0.0.1:1/?prefix=a: malformed listing XML (${why})`,
        );
        assert.equal(error.cause instanceof XmlSyntaxError, fromParser, xml);
        return true;
      },
    );
  }
  assert.throws(() => parseListBucketResult("<a"), /^NetworkError: Cannot list listing: /);
});

/** Asserts that the page `xml` fails with an XmlSyntaxError cause whose message is `message`. */
function rejects(xml: string, message: string) {
  assert.throws(() => parseListBucketResult(xml), (error: unknown) => {
    assert.ok(error instanceof NetworkError, xml);
    assert.equal(error.message, `Cannot list listing: malformed listing XML (${message})`, xml);
    assert.ok(error.cause instanceof XmlSyntaxError, xml);
    return true;
  });
}

Deno.test("parseListBucketResult skips other elements, attributes, comments and declarations", () => {
  const page = parseListBucketResult(
    `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- before <a> -->\n` +
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/" a = '1&amp;'>` +
      `<!-- inside <b/> --><?pi data?><Name/><Name /><Spaced></Spaced ><n.a-m_e>v &amp; w</n.a-m_e>` +
      `<IsTruncated>t<!---->r<![CDATA[ue]]></IsTruncated>` +
      `<Contents><Key>one &amp; <![CDATA[<two> &amp; ]]]]>three</Key>` +
      `<Owner><ID>x</ID><DisplayName/></Owner><Key>ignored</Key></Contents>` +
      `<Contents><Key>data/spot/daily/klines/币安人生USDT/1d/币安人生USDT-1d-2025-10-01.zip</Key></Contents>` +
      `<Other><Contents><Key>nested</Key></Contents>free text</Other>` +
      `</ListBucketResult>\n<!-- after -->\n  `,
  );
  assert.deepEqual(page, {
    keys: [
      "one & <two> &amp; ]]three",
      "data/spot/daily/klines/币安人生USDT/1d/币安人生USDT-1d-2025-10-01.zip",
    ],
    prefixes: [],
    isTruncated: true,
  });
  const empty = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
  const none = { keys: [], prefixes: [], isTruncated: false };
  assert.deepEqual(parseListBucketResult(" \n\t" + empty + "\r\n"), none);
  assert.deepEqual(parseListBucketResult("<ListBucketResult\n>" + empty.slice(18)), none);
});

Deno.test("parseListBucketResult rejects documents that are cut off, mismatched or malformed", () => {
  const ok = "<ListBucketResult><IsTruncated>false</IsTruncated>";
  const bad: [string, string][] = [
    ["", "no root element"],
    ["  \n", "no root element"],
    ["<?xml version='1.0'?><!-- only a comment -->", "no root element"],
    ["text<a/>", "text outside the root element"],
    ["<a/>text", "text outside the root element"],
    ["<a></a>&amp;", "text outside the root element"],
    ["<a/><b/>", "a second root"],
    ["<a></a><a></a>", "a second root"],
    ["<a", "an unterminated start tag"],
    ["<a><b x='1'", "an unterminated start tag"],
    ["<a></a", "an unterminated end tag"],
    ["<a><!-- x", "an unterminated comment"],
    ["<?xml version='1.0'", "an unterminated declaration"],
    ["<a><![CDATA[x]]", "an unterminated CDATA section"],
    ["<![CDATA[x]]><a/>", "CDATA outside the root element"],
    ["<a>", 'the unclosed element "<a>"'],
    ["<a><b></b>", 'the unclosed element "<a>"'],
    ["<a><b>", 'the unclosed element "<b>"'],
    ["<a><b></a></b>", 'the unexpected end tag "</a>"'],
    ["</a>", 'the unexpected end tag "</a>"'],
    ["<a></A>", 'the unexpected end tag "</A>"'],
    ["<a></a b>", 'the unexpected end tag "</a b>"'],
    ["<a></ a>", 'the unexpected end tag "</ a>"'],
    ["<1a/>", 'the malformed tag "<1a/>"'],
    ["< a/>", 'the malformed tag "< a/>"'],
    ["<>", 'the malformed tag "<>"'],
    ["<!DOCTYPE a><a/>", 'the malformed tag "<!DOCTYPE a>"'],
    ["<a\u00e9/>", 'the malformed tag "<a\u00e9/>"'],
    ["<a b/>", 'the malformed tag "<a b/>"'],
    ["<a b=1/>", 'the malformed tag "<a b=1/>"'],
    ["<a b='1/>", `the malformed tag "<a b='1/>"`],
    [`<a b="1"c="2"/>`, `the malformed tag "<a b="1"c="2"/>"`],
    [`<a b="<"/>`, `the malformed tag "<a b="<"/>"`],
    [`<a b="&"/>`, "a bare '&'"],
    ["<a>x & y</a>", "a bare '&'"],
    ["<a>&nbsp;</a>", 'the entity "&nbsp;"'],
    [ok + "text</ListBucketResult>", 'text inside "<ListBucketResult>"'],
    [ok + "<Contents>k<Key>a</Key></Contents></ListBucketResult>", 'text inside "<Contents>"'],
    [
      ok + "<CommonPrefixes><![CDATA[p]]></CommonPrefixes></ListBucketResult>",
      'CDATA inside "<CommonPrefixes>"',
    ],
    [
      ok + "<Contents><Key>a<b/></Key></Contents></ListBucketResult>",
      'the element "<b>" inside "<Key>"',
    ],
    [
      "<ListBucketResult><IsTruncated><v/></IsTruncated>",
      'the element "<v>" inside "<IsTruncated>"',
    ],
  ];
  for (const [xml, message] of bad) rejects(xml, message);
});

Deno.test("parseListBucketResult fails on every cut of a page and on damage, with a NetworkError only", () => {
  const end = S3_PAGE.indexOf("</ListBucketResult>") + "</ListBucketResult>".length;
  for (let cut = 0; cut < end; cut++) {
    assert.throws(() => parseListBucketResult(S3_PAGE.slice(0, cut)), NetworkError, `cut ${cut}`);
  }
  let seed = 42;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const alphabet = `<>/&;#x!?-[]"'= aZ\u00e9\uFEFF`;
  for (let n = 0; n < 2000; n++) {
    const chars = [...S3_PAGE];
    for (let k = 1 + Math.floor(next() * 3); k > 0; k--) {
      const at = Math.floor(next() * chars.length);
      const op = next();
      const c = alphabet[Math.floor(next() * alphabet.length)];
      if (op < 0.4) chars[at] = c;
      else if (op < 0.7) chars.splice(at, 1);
      else chars.splice(at, 0, c);
    }
    const xml = chars.join("");
    try {
      const page = parseListBucketResult(xml);
      assert.equal(typeof page.isTruncated, "boolean", xml);
      for (const key of [...page.keys, ...page.prefixes]) assert.ok(key !== "", xml);
    } catch (error) {
      assert.ok(error instanceof NetworkError, xml);
    }
  }
});

Deno.test("parseListBucketResult rejects deep, repeated and unterminated hostile input", () => {
  const n = 200_000;
  const pages = [
    "<ListBucketResult>" + "<a>".repeat(n),
    "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>" + "&#".repeat(n),
    "<ListBucketResult " + "a='1' ".repeat(n),
    "<ListBucketResult>" + "<!--".repeat(n),
    "<".repeat(n),
  ];
  for (const xml of pages) assert.throws(() => parseListBucketResult(xml), NetworkError);
});

Deno.test("parseListObjectsV2 reads keys, sizes and the continuation token", () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>cache/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>cache/a &amp; b.arrow</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;e&quot;</ETag><Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>cache/c.arrow</Key><Size> 0 </Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>`;
  assert.deepEqual(parseListObjectsV2(xml), {
    objects: [{ key: "cache/a & b.arrow", size: 1234 }, { key: "cache/c.arrow", size: 0 }],
    isTruncated: true,
    nextContinuationToken: "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
  });
  const last = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
  assert.deepEqual(parseListObjectsV2(last), { objects: [], isTruncated: false });
});

Deno.test("parseListObjectsV2 rejects a page without sizes, keys or token, and every cut", () => {
  const page = (inner: string) => `<ListBucketResult>${inner}</ListBucketResult>`;
  const bad: [string, RegExp][] = [
    [page("<IsTruncated>false</IsTruncated><Contents><Key>a</Key></Contents>"), /Size undefined/],
    [
      page("<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>-1</Size></Contents>"),
      /Size "-1"/,
    ],
    [page("<IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents>"), /without Key/],
    [page("<IsTruncated>true</IsTruncated>"), /without NextContinuationToken/],
    [page(""), /IsTruncated is undefined/],
    ["<Error><Code>AccessDenied</Code></Error>", /root element "<Error>"/],
  ];
  for (const [xml, message] of bad) {
    assert.throws(() => parseListObjectsV2(xml, "u"), (error: unknown) => {
      assert.ok(error instanceof NetworkError, xml);
      assert.match(error.message, message, xml);
      return true;
    });
  }
  const whole = page(
    "<IsTruncated>true</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents>" +
      "<NextContinuationToken>t</NextContinuationToken>",
  );
  for (let cut = 0; cut < whole.length; cut++) {
    assert.throws(() => parseListObjectsV2(whole.slice(0, cut)), NetworkError, `cut ${cut}`);
  }
});

Deno.test("parseS3Error reads Code and Message of an <Error>, undefined for anything else", () => {
  assert.deepEqual(
    parseS3Error(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>` +
        `<Message>The request signature we calculated does not match</Message>` +
        `<StringToSign>AWS4-HMAC-SHA256 &amp;</StringToSign><RequestId>x</RequestId></Error>`,
    ),
    {
      code: "SignatureDoesNotMatch",
      message: "The request signature we calculated does not match",
    },
  );
  assert.deepEqual(parseS3Error("<Error><Code>NoSuchKey</Code><Message/></Error>"), {
    code: "NoSuchKey",
  });
  for (
    const body of ["", "<html>502</html>", "<Error><Code>", "<Error><Message>m</Message></Error>"]
  ) {
    assert.equal(parseS3Error(body), undefined, body);
  }
});
