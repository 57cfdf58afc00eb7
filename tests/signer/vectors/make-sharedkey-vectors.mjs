#!/usr/bin/env node
// Writes tests/signer/vectors/sharedkey.jsonl: Shared Key signatures made by the
// official SDK, for tests/signer/test_sharedkey.c (which reads the committed file;
// CI does not regenerate it).
//
//   node tests/signer/vectors/make-sharedkey-vectors.mjs [out.jsonl]
//
// Every case is a real core-rest-pipeline request (createPipelineRequest,
// createHttpHeaders) passed through the shared-key policy that
// @azure/storage-blob's pipeline installs for a StorageSharedKeyCredential
// (storageSharedKeyCredentialPolicy of @azure/storage-common, as its
// Pipeline.js does), with a `next` that sends nothing. Blob URLs are built by
// the SDK's own clients (ContainerClient.getBlobClient). The string to sign is
// taken from the SDK itself: node:crypto's createHmac is wrapped to record what
// the policy feeds it. The clock is fixed so the file is reproducible.
//
// One deliberate deviation, recorded per line: storage-common 12.5.0 writes
// Content-Language on the second line and Content-Encoding on the third; the
// service (Azure's documentation, Azurite's BlobSharedKeyAuthenticator, the
// .NET and Python SDKs) reads Content-Encoding first. When the two values
// differ, the case is signed a second time with the two values swapped, which
// makes the SDK produce the string the service checks; that is the expected
// value ("swapped": true), and the SDK's unswapped Authorization is kept as
// "sdk_as_is_authorization" so the test proves the difference.
//
// Line fields: name, method, url, path and query (as sent on the wire: the
// URL's pathname and search), account, key (base64), headers (name/value pairs
// as the caller set them, before the SDK trims), sent (the pairs the request
// carries after signing, Authorization left out), expect ("signed" or
// "refused": our code must refuse a request SDKs and the service would read
// two ways, see signer.h), why (for refused), string_to_sign (the SDK's) and
// authorization (the SDK's).
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../../package.json"));

// Record the string to sign the policy hands to HMAC.
const crypto = require("node:crypto");
const realCreateHmac = crypto.createHmac;
let lastSigned = null;
crypto.createHmac = function (alg, key) {
    const h = realCreateHmac.call(this, alg, key);
    const update = h.update.bind(h);
    h.update = (data, enc) => {
        lastSigned = data;
        return update(data, enc);
    };
    return h;
};

// A fixed clock: the policy stamps x-ms-date with new Date().toUTCString().
const RealDate = Date;
let clock = RealDate.UTC(2026, 11, 2, 8, 0, 0);
globalThis.Date = class extends RealDate {
    constructor(...a) {
        if (a.length === 0) super(clock);
        else super(...a);
    }
    static now() {
        return clock;
    }
};

const { StorageSharedKeyCredential, ContainerClient, BlobServiceClient } = require("@azure/storage-blob");
const { storageSharedKeyCredentialPolicy } = require("@azure/storage-common");
const { createPipelineRequest, createHttpHeaders } = require("@azure/core-rest-pipeline");

const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const HOST_ACCOUNT = "sasgwvectors";
const HOST_KEY = Buffer.concat([
    createHash("sha256").update("sasgw sharedkey vectors 1").digest(),
    createHash("sha256").update("sasgw sharedkey vectors 2").digest(),
]).toString("base64");
const PATH_BASE = `http://127.0.0.1:10000/${DEV_ACCOUNT}`;
const HOST_BASE = `https://${HOST_ACCOUNT}.blob.core.windows.net`;

function sign(account, key, method, url, headerPairs, body) {
    const cred = new StorageSharedKeyCredential(account, key);
    const policy = storageSharedKeyCredentialPolicy({ accountName: cred.accountName, accountKey: cred.accountKey });
    const headers = createHttpHeaders();
    for (const [n, v] of headerPairs) headers.set(n, v);
    const request = createPipelineRequest({ url, method, headers, body });
    lastSigned = null;
    let error = null;
    policy
        .sendRequest(request, async (r) => ({ request: r, status: 200, headers: createHttpHeaders() }))
        .catch((e) => (error = e));
    // signRequest runs synchronously inside sendRequest; a throw lands in the promise
    return { request, sts: lastSigned, error };
}

const blobUrl = (base, container, blob) => new ContainerClient(`${base}/${container}`).getBlobClient(blob).url;
const containerUrl = (base, container) => new BlobServiceClient(base).getContainerClient(container).url;

const out = [];
function add(c) {
    const account = c.account ?? (c.host ? HOST_ACCOUNT : DEV_ACCOUNT);
    const key = c.key ?? (c.host ? HOST_KEY : DEV_KEY);
    const headers = [...(c.headers ?? [])];
    if (!c.noVersion && !headers.some(([n]) => n.toLowerCase() === "x-ms-version")) headers.push(["x-ms-version", "2026-10-06"]);
    clock += 1000;
    let r = sign(account, key, c.method, c.url, headers, c.body);
    const u = new URL(c.url);
    const wire = { path: u.pathname, query: u.search.startsWith("?") ? u.search.slice(1) : u.search };
    if (r.sts === null) {
        out.push({ name: c.name, method: c.method, url: c.url, ...wire, account, key, headers, expect: "refused",
                   why: c.why ?? "the SDK cannot sign it", sdk_error: "the policy threw before signing" });
        return;
    }
    const line = {
        name: c.name,
        method: c.method,
        url: c.url,
        ...wire,
        account,
        key,
        headers,
        sent: [...r.request.headers].filter(([n]) => n.toLowerCase() !== "authorization"),
        expect: c.refused ? "refused" : "signed",
    };
    if (c.refused) line.why = c.refused;
    const enc = r.request.headers.get("content-encoding") ?? "";
    const lang = r.request.headers.get("content-language") ?? "";
    if (enc !== lang) {
        // sign again with the two values swapped: the SDK then writes the service's order
        const asIs = r.request.headers.get("authorization");
        const swapped = headers.map(([n, v]) => {
            const l = n.toLowerCase();
            return l === "content-encoding" ? [n, lang] : l === "content-language" ? [n, enc] : [n, v];
        });
        if (!headers.some(([n]) => n.toLowerCase() === "content-encoding")) swapped.push(["Content-Encoding", lang]);
        if (!headers.some(([n]) => n.toLowerCase() === "content-language")) swapped.push(["Content-Language", enc]);
        // the clock has not moved: x-ms-date is the same in both
        r = sign(account, key, c.method, c.url, swapped.filter(([, v]) => v !== ""), c.body);
        line.swapped = true;
        line.sdk_as_is_authorization = asIs;
    }
    line.string_to_sign = r.sts;
    line.authorization = r.request.headers.get("authorization");
    out.push(line);
}

// ---- methods and bodies ---------------------------------------------------
const B = (name) => blobUrl(PATH_BASE, "photos", name);
const HB = (name) => blobUrl(HOST_BASE, "photos", name);
for (const [m, body] of [["GET"], ["HEAD"], ["DELETE"], ["PUT", ""], ["PUT", "hello"], ["POST", "<xml/>"], ["PUT", Buffer.from([0, 1, 2, 255])]]) {
    for (const host of [false, true]) {
        add({ name: `method ${m} body ${body === undefined ? "none" : body.length} ${host ? "host" : "path"}-style`, method: m,
              url: host ? HB("a.txt") : B("a.txt"), host, body,
              headers: m === "PUT" ? [["x-ms-blob-type", "BlockBlob"]] : [] });
    }
}
add({ name: "Content-Length 0 given explicitly", method: "PUT", url: B("empty"), headers: [["Content-Length", "0"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "Content-Length n given explicitly", method: "PUT", url: B("n"), headers: [["Content-Length", "1048576"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "Content-Length with a leading zero", method: "PUT", url: B("n"), headers: [["Content-Length", "0042"]],
      refused: "Content-Length not canonical decimal" });
add({ name: "Content-Length not a number", method: "PUT", url: B("n"), headers: [["Content-Length", "12ab"]],
      refused: "Content-Length not canonical decimal" });

// ---- ranges and conditions -----------------------------------------------
add({ name: "Range", method: "GET", url: B("big.bin"), headers: [["Range", "bytes=0-1023"]] });
add({ name: "x-ms-range", method: "GET", url: B("big.bin"), headers: [["x-ms-range", "bytes=1024-2047"]] });
add({ name: "Range and x-ms-range", method: "GET", url: B("big.bin"), headers: [["x-ms-range", "bytes=0-9"], ["Range", "bytes=10-19"]] });
add({ name: "open range", method: "GET", url: HB("big.bin"), host: true, headers: [["x-ms-range", "bytes=100-"], ["x-ms-range-get-content-md5", "true"]] });
add({ name: "If-Match", method: "GET", url: B("c.txt"), headers: [["If-Match", '"0x8DCF1A2B3C4D5E6"']] });
add({ name: "If-None-Match star", method: "PUT", url: B("c.txt"), body: "x", headers: [["If-None-Match", "*"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "If-Modified-Since", method: "HEAD", url: B("c.txt"), headers: [["If-Modified-Since", "Tue, 01 Dec 2026 10:00:00 GMT"]] });
add({ name: "If-Unmodified-Since", method: "DELETE", url: B("c.txt"), headers: [["If-Unmodified-Since", "Tue, 01 Dec 2026 10:00:00 GMT"]] });
add({ name: "every conditional", method: "GET", url: HB("c.txt"), host: true, headers: [
    ["If-Match", '"etag-1"'], ["If-None-Match", '"etag-2"'], ["If-Modified-Since", "Mon, 30 Nov 2026 00:00:00 GMT"],
    ["If-Unmodified-Since", "Wed, 02 Dec 2026 00:00:00 GMT"], ["Range", "bytes=0-0"]] });
add({ name: "x-ms conditionals", method: "PUT", url: B("c.txt"), body: "abc", headers: [
    ["x-ms-blob-type", "BlockBlob"], ["x-ms-if-tags", "\"tag\" = 'v'"], ["x-ms-lease-id", "0f2b1a34-5c6d-4e7f-8091-a2b3c4d5e6f7"]] });
add({ name: "Date header", method: "GET", url: B("d.txt"), headers: [["Date", "Wed, 02 Dec 2026 08:00:00 GMT"]] });

// ---- content-* -------------------------------------------------------------
add({ name: "Content-Type", method: "PUT", url: B("t.json"), body: "{}", headers: [["Content-Type", "application/json; charset=utf-8"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "Content-MD5", method: "PUT", url: B("m.bin"), body: "hello", headers: [["Content-MD5", "XUFAKrxLKna5cZ2REBfFkg=="], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "Content-Encoding only", method: "PUT", url: B("g.gz"), body: "zz", headers: [["Content-Encoding", "gzip"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "Content-Language only", method: "PUT", url: B("l.txt"), body: "zz", headers: [["Content-Language", "en-US"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "Content-Encoding and Content-Language", method: "PUT", url: HB("gl.txt"), host: true, body: "zz",
      headers: [["content-language", "de-CH"], ["content-encoding", "br"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "Content-Encoding equals Content-Language", method: "PUT", url: B("same"), body: "zz",
      headers: [["Content-Encoding", "x"], ["Content-Language", "x"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "every content header", method: "PUT", url: B("all"), body: "0123456789", headers: [
    ["Content-Type", "text/plain"], ["Content-MD5", "eB5eJF1ptWaXm4bijSPyxw=="], ["Content-Encoding", "identity"],
    ["Content-Language", "fr"], ["x-ms-blob-type", "BlockBlob"]] });
add({ name: "x-ms-blob-content-*", method: "PUT", url: B("props"), body: "p", headers: [
    ["x-ms-blob-type", "BlockBlob"], ["x-ms-blob-content-type", "image/png"], ["x-ms-blob-content-encoding", "gzip"],
    ["x-ms-blob-content-language", "en"], ["x-ms-blob-cache-control", "max-age=60, public"],
    ["x-ms-blob-content-disposition", 'attachment; filename="a b.png"']] });

// ---- x-ms-* names, case, order, whitespace ----------------------------------
add({ name: "mixed-case x-ms names", method: "PUT", url: B("meta"), body: "m", headers: [
    ["X-MS-BLOB-TYPE", "BlockBlob"], ["X-Ms-Meta-Colour", "blue"], ["x-MS-meta-size", "XL"], ["X-ms-Client-Request-Id", "abc-123"]] });
add({ name: "x-ms in reverse order", method: "GET", url: B("o"), headers: [
    ["x-ms-meta-z", "1"], ["x-ms-meta-y", "2"], ["x-ms-meta-b", "3"], ["x-ms-meta-a", "4"], ["x-ms-client-request-id", "r"]] });
add({ name: "hyphen sorts after letters (not strcmp)", method: "PUT", url: B("h"), headers: [
    ["x-ms-a-b", "hyphen"], ["x-ms-ab", "plain"], ["x-ms-a_b", "underscore"], ["x-ms-a", "short"]] });
add({ name: "underscore, dot, digits", method: "PUT", url: B("h2"), headers: [
    ["x-ms-meta-a1", "1"], ["x-ms-a.b", "dot"], ["x-ms-meta-a_1", "u"], ["x-ms-meta-a9", "9"], ["x-ms-meta-aa", "aa"], ["x-ms-meta-a0", "0"],
    ["x-ms-meta-_x", "lead"], ["x-ms-meta-A_", "trail"]] });
add({ name: "apostrophe and hyphen", method: "PUT", url: B("h3"), headers: [
    ["x-ms-o'b", "apos"], ["x-ms-o-b", "hyph"], ["x-ms-ob", "none"], ["x-ms-'ob", "lead"], ["x-ms-ob-", "trail"]] });
add({ name: "metadata name with a hyphen", method: "PUT", url: B("h4"), headers: [["x-ms-meta-a-b", "1"], ["x-ms-meta-ab", "2"]],
      refused: "metadata name not a C# identifier (Azurite sorts it otherwise)" });
add({ name: "metadata name with a digit first", method: "PUT", url: B("h5"), headers: [["x-ms-meta-1a", "1"]],
      refused: "metadata name not a C# identifier" });
add({ name: "x-ms-meta-* and x-ms-version order", method: "PUT", url: B("v"), headers: [
    ["x-ms-version", "2021-08-06"], ["x-ms-meta-version", "v"], ["x-ms-metadata", "m"], ["x-ms-", "prefix only"]] });
add({ name: "bare x-ms-meta-", method: "PUT", url: B("v"), headers: [["x-ms-meta-", "bare"]], refused: "empty metadata name" });
add({ name: "leading and trailing whitespace", method: "PUT", url: B("ws"), headers: [
    ["x-ms-meta-a", "   padded   "], ["Content-Type", "  text/plain  "], ["x-ms-meta-b", "\t tabbed \t"]] });
add({ name: "internal runs of spaces are kept", method: "PUT", url: B("ws2"), headers: [
    ["x-ms-meta-phrase", "annual   report  2026"], ["Content-Type", "text/plain;   charset=utf-8"]] });
add({ name: "empty x-ms value", method: "PUT", url: B("e"), headers: [["x-ms-meta-empty", ""], ["x-ms-meta-full", "f"]] });
add({ name: "internal tab", method: "PUT", url: B("tab"), headers: [["x-ms-meta-t", "a\tb"]], refused: "HTAB inside a signed value" });
add({ name: "CR LF in a value", method: "PUT", url: B("crlf"), headers: [["x-ms-meta-t", "a\r\nb"]], refused: "CR/LF in a signed value (the SDK drops them)" });
add({ name: "non-ASCII value", method: "PUT", url: B("u"), headers: [["x-ms-meta-city", "Zürich"]], refused: "non-ASCII in a signed value" });
add({ name: "old x-ms-version", method: "GET", url: B("old"), headers: [["x-ms-version", "2014-02-14"]], refused: "x-ms-version before 2015-02-21" });
add({ name: "x-ms-version 2015-02-21", method: "GET", url: B("old"), headers: [["x-ms-version", "2015-02-21"]] });
add({ name: "no x-ms-version", method: "GET", url: B("nov"), noVersion: true });
add({ name: "copy source", method: "PUT", url: B("copy"), headers: [
    ["x-ms-copy-source", `${PATH_BASE}/photos/src.bin?sv=2026-10-06&sig=abc%2Bdef%3D`], ["x-ms-requires-sync", "true"]] });
add({ name: "unsigned headers do not matter", method: "GET", url: B("u2"), headers: [
    ["User-Agent", "azsdk-js/12.34"], ["Accept", "application/xml"], ["Connection", "keep-alive"], ["Host", "127.0.0.1:10000"]] });

// ---- blob names -----------------------------------------------------------
const names = ["hello world.txt", "ünïcødé/文件.bin", "emoji 😀.png", "a+b.txt", "tilde~x", "bang!x", "quote'x", "paren(1)",
    "star*", "semi;colon", "at@sign", "comma,x", "dollar$", "amp&x", "eq=x", "hash#x", "q?x", "caret^x", "pipe|x",
    "brackets[1]", "curly{x}", "percent%x", "literal%2F", "dir/sub/file.txt", "trailing.", "...", "-dash", "UPPER.TXT",
    "back\\slash", "tab\tname", "a//b", "%2e%2e"];
for (const [i, n] of names.entries())
    add({ name: `blob name ${JSON.stringify(n)}`, method: i % 2 ? "GET" : "PUT", url: i % 3 ? B(n) : HB(n), host: !(i % 3),
          headers: i % 2 ? [] : [["x-ms-blob-type", "BlockBlob"]] });
// URLs written by hand: an encoded slash, raw characters, dot segments the URL parser resolves
add({ name: "encoded slash in the path", method: "GET", url: `${PATH_BASE}/photos/a%2Fb.txt` });
add({ name: "encoded backslash in the path", method: "GET", url: `${PATH_BASE}/photos/a%5Cb.txt` });
add({ name: "lower-case percent-encoding", method: "GET", url: `${PATH_BASE}/photos/caf%c3%a9` });
add({ name: "raw sub-delims in the path", method: "GET", url: `${PATH_BASE}/photos/a!$&'()*+,;=:@b` });
add({ name: "container only", method: "GET", url: `${containerUrl(PATH_BASE, "photos")}?restype=container` });
add({ name: "account root path-style", method: "GET", url: `${PATH_BASE}/?comp=list` });
add({ name: "account root host-style", method: "GET", url: `${HOST_BASE}/?comp=list`, host: true });
add({ name: "account root no slash", method: "GET", url: `${HOST_BASE}?comp=properties&restype=service`, host: true });
add({ name: "encoded dot segment resolved by the URL parser", method: "GET", url: `${PATH_BASE}/photos/.%2e/x` });

// ---- query parameters -----------------------------------------------------
const q = (base, s) => `${base}?${s}`;
const e = encodeURIComponent;
add({ name: "comp=list", method: "GET", url: q(`${PATH_BASE}/photos`, "restype=container&comp=list") });
add({ name: "list with prefix and include", method: "GET", url: q(`${PATH_BASE}/photos`, `restype=container&comp=list&prefix=${e("users/ann/")}&include=metadata,snapshots&maxresults=5`) });
add({ name: "list with raw comma and slash", method: "GET", url: q(`${HOST_BASE}/photos`, "restype=container&comp=list&prefix=a/b&include=metadata,tags"), host: true });
add({ name: "blockid with = and + encoded", method: "PUT", url: q(B("blk"), `comp=block&blockid=${e("AAAA+/8=")}`), body: "block" });
add({ name: "blockid %2B and %3D upper", method: "PUT", url: q(B("blk"), "comp=block&blockid=YWJj%2BZA%3D%3D"), body: "b" });
add({ name: "blockid %2b lower", method: "PUT", url: q(B("blk"), "blockid=YWJj%2bZA%3d%3d&comp=block"), body: "b" });
add({ name: "blocklist", method: "PUT", url: q(B("blk"), "comp=blocklist"), body: "<BlockList><Latest>QUFBQQ==</Latest></BlockList>", headers: [["Content-Type", "application/xml"]] });
add({ name: "snapshot", method: "GET", url: q(B("s"), `snapshot=${e("2026-12-01T10:00:00.1234567Z")}`) });
add({ name: "snapshot raw colons", method: "GET", url: q(B("s"), "snapshot=2026-12-01T10:00:00.1234567Z") });
add({ name: "versionid", method: "DELETE", url: q(B("s"), `versionid=${e("2026-12-01T10:00:00.1234567Z")}`) });
add({ name: "timeout", method: "GET", url: q(B("t"), "timeout=30") });
add({ name: "comp=metadata with timeout", method: "PUT", url: q(HB("md"), "comp=metadata&timeout=20"), host: true, headers: [["x-ms-meta-k", "v"]] });
add({ name: "uppercase names", method: "GET", url: q(`${PATH_BASE}/photos`, "RESTYPE=container&Comp=list") });
add({ name: "mixed-case name sorted lower", method: "GET", url: q(B("x"), "Zeta=1&alpha=2&Beta=3") });
add({ name: "names that sort by prefix", method: "GET", url: q(B("x"), "ab=1&a=2&abc=3&a-b=4&a_b=5&a.b=6&a~b=7") });
add({ name: "percent-encoded space and unicode", method: "GET", url: q(B("x"), `prefix=${e("a b/€/ü")}&comp=list`) });
add({ name: "encoded & and =", method: "GET", url: q(B("x"), `prefix=${e("a&b=c")}`) });
add({ name: "encoded percent", method: "GET", url: q(B("x"), `prefix=${e("100%")}`) });
add({ name: "tags comp", method: "PUT", url: q(B("x"), "comp=tags"), body: "<Tags/>" });
add({ name: "lease", method: "PUT", url: q(B("x"), "comp=lease"), headers: [["x-ms-lease-action", "acquire"], ["x-ms-lease-duration", "-1"]] });
add({ name: "page", method: "PUT", url: q(B("p"), "comp=page"), headers: [["x-ms-page-write", "update"], ["x-ms-range", "bytes=0-511"], ["Content-Length", "512"]] });
add({ name: "appendblock", method: "PUT", url: q(B("ap"), "comp=appendblock"), body: "line\n" });
add({ name: "batch POST", method: "POST", url: q(`${PATH_BASE}/photos`, "restype=container&comp=batch"), body: "--batch\r\n", headers: [["Content-Type", "multipart/mixed; boundary=batch"]] });
add({ name: "trailing &", method: "GET", url: q(B("x"), "comp=list&") });
add({ name: "empty value", method: "GET", url: q(B("x"), "comp=list&prefix="), refused: "empty value: JS SDK drops it, Azurite and .NET sign name:" });
add({ name: "valueless parameter", method: "GET", url: q(B("x"), "comp=list&flag"), refused: "no '=': SDKs disagree" });
add({ name: "repeated name", method: "GET", url: q(B("x"), "include=metadata&include=tags"), refused: "repeated name: SDK keeps the last, docs comma-join" });
add({ name: "repeated name in other case", method: "GET", url: q(B("x"), "comp=list&COMP=list"), refused: "repeated name (case-insensitive): SDK writes it twice" });
add({ name: "raw plus in a value", method: "GET", url: q(B("x"), "prefix=a+b"), refused: "raw '+': the SDK keeps '+', Azurite reads a space" });
add({ name: "raw = in a value", method: "PUT", url: q(B("x"), "comp=block&blockid=YWJj=="), refused: "raw '=' in a value: the SDK drops the parameter" });
add({ name: "empty piece between &", method: "GET", url: q(B("x"), "a=1&&b=2"), refused: "empty parameter" });
add({ name: "empty name", method: "GET", url: q(B("x"), "=v&comp=list"), refused: "empty name" });
add({ name: "percent-encoded name", method: "GET", url: q(B("x"), "c%6Fmp=list"), refused: "encoded name: readers differ" });
add({ name: "decoded control byte", method: "GET", url: q(B("x"), "prefix=a%0Ab"), refused: "decoded LF forges a line" });
add({ name: "decoded NUL", method: "GET", url: q(B("x"), "prefix=a%00b"), refused: "decoded NUL" });
add({ name: "invalid UTF-8", method: "GET", url: q(B("x"), "prefix=%C3"), why: "invalid UTF-8: decodeURIComponent throws" });
add({ name: "bad percent-encoding", method: "GET", url: q(B("x"), "prefix=%zz"), why: "bad percent-encoding: decodeURIComponent throws" });
add({ name: "encoded surrogate", method: "GET", url: q(B("x"), "prefix=%ED%A0%80"), why: "a UTF-16 surrogate: decodeURIComponent throws" });
add({ name: "long encoded value", method: "GET", url: q(`${PATH_BASE}/photos`, `restype=container&comp=list&prefix=${e("é".repeat(100) + "/x y".repeat(40) + "€")}`) });
add({ name: "raw quote in a value", method: "GET", url: q(B("x"), "prefix=it's"), });
add({ name: "many parameters", method: "GET", url: q(`${PATH_BASE}/photos`, Array.from({ length: 20 }, (_, i) => `p${String(19 - i).padStart(2, "0")}=v${i}`).join("&")) });

// ---- random x-ms-* name sets: the comparator against V8's sort ----------------
let seed = 12;
const rnd = (n) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
const alphabet = "abcxyz019-'_.~!#$%&*^`|+";
const metaAlphabet = "abcxyzABZ019_";
for (let k = 0; k < 30; k++) {
    const seen = new Set();
    const hs = [];
    for (let i = 0; i < 4 + rnd(8); i++) {
        const meta = k % 2 && rnd(2);
        let n = meta ? "x-ms-meta-m" : "x-ms-";
        for (let j = 0; j < 1 + rnd(5); j++) n += meta ? metaAlphabet[rnd(metaAlphabet.length)] : alphabet[rnd(alphabet.length)];
        if (rnd(3) === 0) n = n.toUpperCase();
        if (seen.has(n.toLowerCase())) continue;
        seen.add(n.toLowerCase());
        hs.push([n, `v${i}`]);
    }
    add({ name: `random x-ms names ${k}`, method: "GET", url: k % 3 ? B(`r${k}`) : HB(`r${k}`), host: !(k % 3), headers: hs });
}

// ---- other keys and accounts ---------------------------------------------------
for (let k = 0; k < 6; k++) {
    const key = createHash("sha512").update(`key ${k}`).digest().subarray(0, 16 + k * 8).toString("base64");
    add({ name: `key of ${16 + k * 8} bytes`, method: "GET", url: `https://acct${k}x.blob.core.windows.net/c/b${k}`, host: true,
          account: `acct${k}x`, key, headers: [["x-ms-meta-k", String(k)]] });
}

const file = process.argv[2] ?? path.join(here, "sharedkey.jsonl");
writeFileSync(file, out.map((l) => JSON.stringify(l)).join("\n") + "\n");
const signed = out.filter((l) => l.expect === "signed").length;
console.log(`${out.length} cases (${signed} signed, ${out.length - signed} refused) -> ${file}`);
