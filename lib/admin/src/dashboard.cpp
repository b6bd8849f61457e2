// The dashboard: one page, built into the binary, no network at run time.
#include <string_view>

namespace memcoro::admin {

std::string_view dashboard_html() {
  static constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>memcoro</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
  h1 { font-size: 20px; margin: 0 0 16px; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; }
  .tile { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; }
  .tile .label { color: #666; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .tile .value { font-size: 24px; font-weight: 600; margin-top: 4px; }
  .bar { height: 8px; background: #eee; border-radius: 4px; margin-top: 8px; overflow: hidden; }
  .bar > div { height: 100%; background: #3a7bd5; }
  table { border-collapse: collapse; margin-top: 8px; background: #fff; }
  td, th { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  .cls { display: flex; align-items: center; gap: 6px; }
  .cls .mem { background: #3a7bd5; height: 10px; }
  .cls .items { background: #f0a030; height: 10px; }
  #status { color: #888; font-size: 12px; }
  h2 { font-size: 16px; margin: 24px 0 8px; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; }
  .chart { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; }
  .chart .label { color: #666; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .chart .now { float: right; font-weight: 600; color: #222; text-transform: none; }
  .label .unit { text-transform: none; }
  .chart canvas { display: block; width: 360px; height: 120px; margin-top: 4px; }
  .legend span { font-size: 11px; margin-right: 10px; }
  .side { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
  .side table td { font-variant-numeric: tabular-nums; }
  #console form { display: flex; gap: 8px; }
  #console input { font: 13px ui-monospace, monospace; padding: 4px 6px; }
  #console_input { flex: 1; max-width: 640px; }
  #console_out { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px;
                 height: 240px; overflow: auto; margin: 8px 0 0; font: 12px/1.4 ui-monospace, monospace;
                 white-space: pre-wrap; word-break: break-all; }
  td.key { max-width: 260px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
           font-family: ui-monospace, monospace; text-align: left; }
</style>
</head>
<body>
<h1>memcoro <span id="version"></span> <span id="status">connecting…</span></h1>
<div class="tiles">
  <div class="tile"><div class="label">ops/s</div><div class="value" id="ops">–</div>
    <div id="ops_by_cmd" style="font-size:12px;color:#666"></div></div>
  <div class="tile"><div class="label">hit ratio <span class="unit">since start</span></div>
    <div class="value" id="hit_ratio">–</div></div>
  <div class="tile"><div class="label">memory used / limit</div>
    <div class="value"><span id="bytes">–</span> / <span id="limit_maxbytes">–</span></div>
    <div class="bar"><div id="mem_bar" style="width:0"></div></div></div>
  <div class="tile"><div class="label">items</div><div class="value" id="curr_items">–</div></div>
  <div class="tile"><div class="label">evictions</div><div class="value" id="evictions">–</div></div>
  <div class="tile"><div class="label">connections</div><div class="value" id="curr_connections">–</div></div>
</div>
<h2>Last 15 minutes</h2>
<div class="charts">
  <div class="chart"><div class="label">ops/s by command <span class="now" id="now_ops"></span></div>
    <canvas id="chart_ops" width="360" height="120"></canvas><div class="legend" id="legend_ops"></div></div>
  <div class="chart"><div class="label">hit ratio <span class="now" id="now_hit"></span></div>
    <canvas id="chart_hit" width="360" height="120"></canvas></div>
  <div class="chart"><div class="label">p99 service time <span class="unit">(µs)</span> <span class="now" id="now_p99"></span></div>
    <canvas id="chart_p99" width="360" height="120"></canvas><div class="legend" id="legend_p99"></div></div>
  <div class="chart"><div class="label">memory used / limit <span class="now" id="now_mem"></span></div>
    <canvas id="chart_mem" width="360" height="120"></canvas></div>
  <div class="chart"><div class="label">items <span class="now" id="now_items"></span></div>
    <canvas id="chart_items" width="360" height="120"></canvas></div>
  <div class="chart"><div class="label">evictions/s <span class="now" id="now_evictions"></span></div>
    <canvas id="chart_evictions" width="360" height="120"></canvas></div>
  <div class="chart"><div class="label">connections <span class="now" id="now_conns"></span></div>
    <canvas id="chart_conns" width="360" height="120"></canvas></div>
</div>
<div class="side">
<div><h2>Service time by command (µs)</h2>
<table id="latency"><thead><tr><th>command</th><th>count</th><th>p50</th><th>p90</th><th>p99</th>
<th>p99.9</th></tr></thead><tbody></tbody></table></div>
<div><h2>Hot keys: reads</h2>
<table id="hot_read"><thead><tr><th>#</th><th>key</th><th>per s</th><th>share</th></tr></thead>
<tbody></tbody></table></div>
<div><h2>Hot keys: writes</h2>
<table id="hot_write"><thead><tr><th>#</th><th>key</th><th>per s</th><th>share</th></tr></thead>
<tbody></tbody></table></div>
</div>
<h2>Slab classes: memory (blue) and items (orange)</h2>
<table id="slabs"><thead><tr><th>class</th><th>chunk</th><th>pages</th><th>used chunks</th>
<th>items</th><th>evicted</th><th></th></tr></thead><tbody></tbody></table>
<h2>Console</h2>
<div id="console">
<form id="console_form" autocomplete="off">
  <input id="console_input" placeholder="a text-protocol command: stats slabs, get user:42, set k 0 0 value"
         spellcheck="false">
  <input id="console_token" type="password" placeholder="admin token, if one is set">
  <button>Run</button>
</form>
<pre id="console_out" data-replies="0"></pre>
</div>
<script>
"use strict";
const $ = id => document.getElementById(id);
function human(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
async function tick() {
  try {
    const [s, slabs, items] = await Promise.all(
      ["/stats", "/stats/slabs", "/stats/items"].map(u => fetch(u).then(r => r.json())));
    $("version").textContent = s.version;
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
    const lookups = s.get_hits + s.get_misses;
    $("hit_ratio").textContent = lookups ? (100 * s.get_hits / lookups).toFixed(1) + "%" : "–";
    $("hit_ratio").dataset.hits = s.get_hits;
    $("hit_ratio").dataset.misses = s.get_misses;
    $("bytes").textContent = human(s.bytes);
    $("bytes").dataset.raw = s.bytes;
    $("limit_maxbytes").textContent = human(s.limit_maxbytes);
    $("limit_maxbytes").dataset.raw = s.limit_maxbytes;
    $("mem_bar").style.width = Math.min(100, 100 * s.bytes / s.limit_maxbytes) + "%";
    $("curr_items").textContent = s.curr_items;
    $("evictions").textContent = s.evictions;
    $("curr_connections").textContent = s.curr_connections;
    const body = $("slabs").tBodies[0];
    body.innerHTML = "";
    const pageBytes = slabs.total_malloced || 1;
    let maxItems = 1;
    for (const c in items.classes) maxItems = Math.max(maxItems, items.classes[c].number || 0);
    for (const c in slabs.classes) {
      const sl = slabs.classes[c], it = items.classes[c] || {};
      const tr = body.insertRow();
      tr.dataset.cls = c;
      const memPx = Math.round(200 * sl.total_pages * sl.chunk_size * sl.chunks_per_page / pageBytes);
      const itemsPx = Math.round(200 * (it.number || 0) / maxItems);
      for (const v of [c, sl.chunk_size, sl.total_pages, sl.used_chunks, it.number || 0, it.evicted || 0])
        tr.insertCell().textContent = v;
      tr.insertCell().innerHTML = '<div class="cls"><div class="mem" style="width:' + memPx +
        'px"></div><div class="items" style="width:' + itemsPx + 'px"></div></div>';
    }
  } catch (e) {
    $("status").textContent = "cannot reach memcoro: " + e;
  }
}
const COLORS = ["#3a7bd5", "#f0a030", "#2aa876", "#d64545", "#8a5cd6"];
// A line chart of one or more series over the history's times; the last
// values are kept in data-last for tests and tools.
function chart(id, t, series, opts) {
  const c = $(id), g = c.getContext("2d"), W = c.width, H = c.height, L = 44, B = 14;
  g.clearRect(0, 0, W, H);
  let max = opts.max || 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  if (!(max > 0)) max = 1;
  g.font = "10px system-ui, sans-serif";
  g.fillStyle = "#888";
  g.strokeStyle = "#eee";
  for (const f of [0, 0.5, 1]) {
    const y = H - B - f * (H - B - 10);
    g.beginPath(); g.moveTo(L, y); g.lineTo(W, y); g.stroke();
    g.fillText(opts.format(max * f), 0, y + 3);
  }
  const t0 = t.length ? t[t.length - 1] - 899 : 0;
  g.fillText("-15 min", L, H - 2);
  g.fillText("now", W - 22, H - 2);
  series.forEach((s, k) => {
    g.strokeStyle = s.color || COLORS[k % COLORS.length];
    g.lineWidth = 1.5;
    g.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      const x = L + (t[i] - t0) / 899 * (W - L), y = H - B - v / max * (H - B - 10);
      if (pen) g.lineTo(x, y); else g.moveTo(x, y);
      pen = true;
    });
    g.stroke();
  });
  c.dataset.last = JSON.stringify(series.map(s => s.values.length ? s.values[s.values.length - 1] : null));
}
function legend(id, names) {
  $(id).innerHTML = names.map((n, k) =>
    '<span style="color:' + COLORS[k % COLORS.length] + '">■ ' + n + "</span>").join("");
}
const num = v => v >= 10000 ? Math.round(v / 1000) + "k" : (Math.round(v * 10) / 10).toString();
const tail = a => a.length ? a[a.length - 1] : null;
function fill(tbody, rows, width) {
  tbody.innerHTML = "";
  for (const r of rows) {
    const tr = tbody.insertRow();
    r.forEach((v, i) => {
      const td = tr.insertCell();
      td.textContent = v;
      if (width && i === 1) td.className = "key";
    });
  }
}
async function history() {
  try {
    const [h, lat, hot] = await Promise.all(
      ["/stats/history", "/stats/latency", "/stats/hotkeys"].map(u => fetch(u).then(r => r.json())));
    const cmds = ["get", "set", "delete", "incr_decr", "touch"];
    chart("chart_ops", h.t, cmds.map(k => ({ values: h[k] })), { format: num });
    legend("legend_ops", cmds);
    const rates = cmds.map(k => tail(h[k]) || 0);
    const ops = rates.reduce((a, r) => a + r, 0);
    $("now_ops").textContent = num(ops);
    // The headline rate is the history's latest second, as the server
    // measured it: a rate from two /stats fetches divides by whole seconds
    // of uptime (0, 1 or 2 between two fetches a second apart) and jumps.
    if (h.t.length) {
      $("ops").textContent = Math.round(ops);
      $("ops_by_cmd").textContent = cmds.map((k, i) => k + " " + Math.round(rates[i])).join(" · ");
    }
    chart("chart_hit", h.t, [{ values: h.hit_ratio.map(v => v === null ? null : 100 * v) }],
          { max: 100, format: v => Math.round(v) + "%" });
    const hr = tail(h.hit_ratio);
    $("now_hit").textContent = hr === null || hr === undefined ? "–" : (100 * hr).toFixed(1) + "%";
    chart("chart_p99", h.t, [{ values: h.get_p99_us }, { values: h.set_p99_us }], { format: num });
    legend("legend_p99", ["get", "set"]);
    const gp = tail(h.get_p99_us);
    $("now_p99").textContent = gp === null || gp === undefined ? "–" : "get " + num(gp);
    chart("chart_mem", h.t, [{ values: h.bytes }, { values: h.limit_maxbytes, color: "#bbb" }],
          { format: human });
    $("now_mem").textContent = h.t.length ? human(tail(h.bytes)) + " / " + human(tail(h.limit_maxbytes)) : "–";
    chart("chart_items", h.t, [{ values: h.curr_items }], { format: num });
    $("now_items").textContent = h.t.length ? tail(h.curr_items) : "–";
    chart("chart_evictions", h.t, [{ values: h.evictions }], { format: num });
    $("now_evictions").textContent = h.t.length ? num(tail(h.evictions)) : "–";
    chart("chart_conns", h.t, [{ values: h.curr_connections }], { format: num });
    $("now_conns").textContent = h.t.length ? tail(h.curr_connections) : "–";
    const names = ["get", "gat", "set", "cas", "delete", "incr_decr", "touch", "mg", "ms", "md", "ma", "other"];
    fill($("latency").tBodies[0], names.map(n => [n, lat[n + "_count"], lat[n + "_p50_us"],
      lat[n + "_p90_us"], lat[n + "_p99_us"], lat[n + "_p999_us"]].map(v => typeof v === "number" && v % 1 ? v.toFixed(1) : v)));
    for (const dir of ["read", "write"]) {
      const rows = [];
      for (let i = 1; i <= 10; i++) {
        const key = hot[dir + "_" + i + "_key"] ?? hot[dir + "_" + i + "_hash"];
        rows.push(key === undefined ? [i, "–", "", ""] :
          [i, key, num(hot[dir + "_" + i + "_rate"]), (100 * hot[dir + "_" + i + "_share"]).toFixed(1) + "%"]);
      }
      fill($("hot_" + dir).tBodies[0], rows, true);
    }
  } catch (e) {
    $("status").textContent = "cannot reach memcoro: " + e;
  }
}
// The console: one WebSocket session (GET /api/session), opened on the
// first command; a reply per command. The token, when the port has one,
// goes in the session's first message and is kept nowhere else.
let session = null;
function say(text) {
  const out = $("console_out");
  out.textContent = (out.textContent + text).slice(-200000);
  out.scrollTop = out.scrollHeight;
}
function openSession() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") +
                             location.host + "/api/session");
    let ready = false;
    ws.onmessage = ev => {
      const m = JSON.parse(ev.data);
      if (!ready) {
        if (m.token_required) { ws.send(JSON.stringify({ token: $("console_token").value })); return; }
        if (m.console || m.authenticated) { ready = true; session = ws; resolve(ws); return; }
      }
      if (m.error && m.raw === undefined) { say("! " + m.error + "\n"); return; }
      const out = $("console_out");
      out.dataset.replies = Number(out.dataset.replies) + 1;
      say(m.raw + (m.waiting ? "(waiting for the data block: send it as the next line)\n" : "") +
          (m.truncated ? "(reply cut at 4 MiB)\n" : ""));
    };
    ws.onclose = () => {
      if (session === ws) session = null;
      if (!ready) reject(new Error("the console refused the session"));
      else say("(session closed)\n");
    };
  });
}
$("console_form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const line = $("console_input").value;
  if (!line) return;
  try {
    const ws = session || await openSession();
    say("> " + line + "\n");
    ws.send(line);
    $("console_input").value = "";
  } catch (e) {
    say("! " + e.message + "\n");
  }
});
tick();
history();
setInterval(tick, 1000);
setInterval(history, 1000);
</script>
</body>
</html>
)html";
  return kPage;
}

}  // namespace memcoro::admin
