// SPDX-License-Identifier: Apache-2.0

/// The page `ws serve` answers on `/selftest`: a browser opens it, exercises `/echo` and `/chat`
/// with its own WebSocket, and sends `SELFTEST PASS extensions=<what /echo negotiated>` (`none`
/// when no extension was) or `SELFTEST FAIL: <why>` to `/report`, which `ws serve` prints on
/// standard output. The interop tests drive it with headless
/// Chromium.
enum SelfTestPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head><meta charset="utf-8"><title>ws selftest</title></head>
    <body>
    <h1>WebSocket self-test</h1>
    <pre id="out">running…</pre>
    <script>
    "use strict";
    const base = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
    const out = document.getElementById("out");
    const say = text => { out.textContent += "\n" + text; };

    function open(path) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(base + path);
        ws.binaryType = "arraybuffer";
        ws.inbox = [];
        ws.waiters = [];
        ws.onmessage = e => {
          const w = ws.waiters.shift();
          if (w) w(e.data); else ws.inbox.push(e.data);
        };
        ws.onopen = () => resolve(ws);
        ws.onerror = () => reject(new Error("cannot open " + path));
      });
    }
    function next(ws) {
      if (ws.inbox.length) return Promise.resolve(ws.inbox.shift());
      return new Promise(resolve => ws.waiters.push(resolve));
    }
    function closed(ws) {
      return new Promise(resolve => { ws.onclose = e => resolve(e); });
    }
    function same(a, b) {
      if (typeof a === "string" || typeof b === "string") return a === b;
      const x = new Uint8Array(a), y = new Uint8Array(b);
      return x.length === y.length && x.every((v, i) => v === y[i]);
    }
    function describe(v) {
      if (typeof v === "string") return `text(${v.length} chars ${JSON.stringify(v.slice(0, 24))})`;
      return `binary(${v.byteLength} bytes ${Array.from(new Uint8Array(v).slice(0, 8)).join(",")})`;
    }

    // What the /echo socket negotiated (Sec-WebSocket-Extensions), e.g. permessage-deflate.
    let negotiated = "none";

    async function run() {
      // Echo: text (with non-ASCII, empty, large) and binary (every byte value, large, empty).
      const echo = await open("/echo");
      const long = "Grüße, 世界! 🎉 ".repeat(5000);
      const bytes = new Uint8Array(100000).map((_, i) => (i * 31 + 7) & 255);
      const cases = ["hello", "héllo wörld ✓ 世界 🎉", "", long,
                     new Uint8Array(256).map((_, i) => i).buffer, bytes.buffer, new ArrayBuffer(0)];
      for (const c of cases) echo.send(c);
      for (const c of cases) {
        const got = await next(echo);
        if (!same(got, c)) throw new Error(`echo of ${describe(c)} came back as ${describe(got)}`);
      }
      say("echo ok, extensions: " + (echo.extensions || "none"));
      negotiated = echo.extensions || "none";

      // Chat: a message from one peer reaches every peer, the sender included.
      // The server adds a socket to the room just after its handshake, so a socket can be open
      // before it hears broadcasts: first wait until each peer has heard both "ready" calls.
      const a = await open("/chat"), b = await open("/chat");
      const peers = [["a", a], ["b", b]];
      const isReady = m => typeof m === "string" && m.startsWith("ready:");
      const heard = new Map(peers.map(([name]) => [name, new Set()]));
      const allHeard = () => [...heard.values()].every(set => set.size === peers.length);
      for (let round = 0; round < 100 && !allHeard(); round++) {
        for (const [name, ws] of peers) ws.send("ready:" + name);
        await new Promise(resolve => setTimeout(resolve, 50));
        for (const [name, ws] of peers) {
          ws.inbox = ws.inbox.filter(m => !(isReady(m) && heard.get(name).add(m.slice(6))));
        }
      }
      if (!allHeard()) throw new Error("chat peers never heard each other");
      a.send("chat from a ✓");
      for (const [name, ws] of peers) {
        let got;
        do { got = await next(ws); } while (isReady(got));
        if (got !== "chat from a ✓") throw new Error(`chat peer ${name} got ${describe(got)}`);
      }
      a.close(1000); b.close(1000);
      say("chat ok");

      // Close handshake with an application code; the server answers with the same code
      // (RFC 6455 §5.5.1: "typically echos the status code it received").
      const done = closed(echo);
      echo.close(4001, "bye");
      const e = await done;
      if (e.code !== 4001 || !e.wasClean)
        throw new Error(`close: code ${e.code} reason ${JSON.stringify(e.reason)} clean ${e.wasClean}`);
      say("close ok");
    }

    async function report(text) {
      say(text);
      const ws = await open("/report");
      ws.send(text);
      ws.close(1000);
    }

    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 20000));
    Promise.race([run(), timeout])
      .then(() => report("SELFTEST PASS extensions=" + negotiated))
      .catch(error => report("SELFTEST FAIL: " + error.message));
    </script>
    </body>
    </html>
    """#
}
