// SPDX-License-Identifier: Apache-2.0

/// The HTML demo page `ws serve` answers on `/`: a small chat/echo client that uses the
/// browser's own WebSocket to talk to `/echo` or `/chat`.
enum DemoPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>ws serve — WebSocket demo</title>
    <style>
      body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
      #log { border: 1px solid #bbb; height: 22rem; overflow-y: auto; padding: .5rem;
             font-family: ui-monospace, monospace; font-size: 13px; white-space: pre-wrap; }
      .in { color: #064; } .out { color: #036; } .sys { color: #777; } .err { color: #a00; }
      form, .row { display: flex; gap: .5rem; margin: .5rem 0; }
      input[type=text] { flex: 1; }
    </style>
    </head>
    <body>
    <h1>WebSocket demo</h1>
    <p>Served by <code>ws serve</code>. <b>/echo</b> sends every message back to you;
       <b>/chat</b> sends every message to everyone connected (open this page twice).</p>
    <div class="row">
      <select id="path"><option>/echo</option><option>/chat</option></select>
      <button id="connect">Connect</button>
      <button id="disconnect" disabled>Close</button>
      <span id="state" class="sys">not connected</span>
    </div>
    <form id="send">
      <input type="text" id="text" placeholder="message" autocomplete="off" disabled>
      <button id="sendText" disabled>Send text</button>
      <button id="sendBinary" type="button" disabled>Send as binary</button>
    </form>
    <div id="log"></div>
    <script>
    "use strict";
    const $ = id => document.getElementById(id);
    let socket = null;
    function log(kind, text) {
      const line = document.createElement("div");
      line.className = kind;
      line.textContent = text;
      $("log").append(line);
      $("log").scrollTop = $("log").scrollHeight;
    }
    function hex(bytes) {
      return Array.from(bytes, b => b.toString(16).padStart(2, "0")).join(" ");
    }
    function setConnected(on) {
      for (const id of ["text", "sendText", "sendBinary", "disconnect"]) $(id).disabled = !on;
      $("connect").disabled = on;
      $("path").disabled = on;
    }
    $("connect").onclick = () => {
      const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${$("path").value}`;
      socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      $("state").textContent = "connecting to " + url;
      socket.onopen = () => { $("state").textContent = "connected to " + url; setConnected(true); log("sys", "open"); };
      socket.onmessage = e => {
        if (typeof e.data === "string") log("in", "← " + e.data);
        else { const b = new Uint8Array(e.data); log("in", `← [binary ${b.length} bytes] ${hex(b)}`); }
      };
      socket.onerror = () => log("err", "error");
      socket.onclose = e => {
        log("sys", `closed: code ${e.code}${e.reason ? " reason " + JSON.stringify(e.reason) : ""}`);
        $("state").textContent = "not connected"; setConnected(false); socket = null;
      };
    };
    $("disconnect").onclick = () => socket && socket.close(1000, "bye");
    $("send").onsubmit = e => {
      e.preventDefault();
      if (!socket) return;
      socket.send($("text").value);
      log("out", "→ " + $("text").value);
      $("text").value = "";
    };
    $("sendBinary").onclick = () => {
      if (!socket) return;
      const bytes = new TextEncoder().encode($("text").value);
      socket.send(bytes);
      log("out", `→ [binary ${bytes.length} bytes] ${hex(bytes)}`);
      $("text").value = "";
    };
    // /?auto: drive the page as a person would (connect, send as text, send as binary) and
    // report the messages it showed to /report; the browser test uses this.
    if (new URLSearchParams(location.search).has("auto")) {
      $("connect").click();
      const wait = test => new Promise(resolve => {
        const timer = setInterval(() => { if (test()) { clearInterval(timer); resolve(); } }, 20);
      });
      const incoming = () => Array.from(document.querySelectorAll("#log .in"), e => e.textContent);
      wait(() => socket && socket.readyState === WebSocket.OPEN).then(async () => {
        $("text").value = "hello ✓"; $("sendText").click();
        await wait(() => incoming().length === 1);
        $("text").value = "hello ✓"; $("sendBinary").click();
        await wait(() => incoming().length === 2);
        const report = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/report`);
        report.onopen = () => {
          for (const line of incoming()) report.send("DEMO " + line);
          report.send("DEMO END");
          report.close(1000);
        };
      });
    }
    </script>
    </body>
    </html>
    """#
}
