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
</style>
</head>
<body>
<h1>memcoro <span id="version"></span> <span id="status">connecting…</span></h1>
<div class="tiles">
  <div class="tile"><div class="label">ops/s</div><div class="value" id="ops">–</div>
    <div id="ops_by_cmd" style="font-size:12px;color:#666"></div></div>
  <div class="tile"><div class="label">hit ratio</div><div class="value" id="hit_ratio">–</div></div>
  <div class="tile"><div class="label">memory used / limit</div>
    <div class="value"><span id="bytes">–</span> / <span id="limit_maxbytes">–</span></div>
    <div class="bar"><div id="mem_bar" style="width:0"></div></div></div>
  <div class="tile"><div class="label">items</div><div class="value" id="curr_items">–</div></div>
  <div class="tile"><div class="label">evictions</div><div class="value" id="evictions">–</div></div>
  <div class="tile"><div class="label">connections</div><div class="value" id="curr_connections">–</div></div>
</div>
<h2 style="font-size:16px;margin-top:24px">Slab classes: memory (blue) and items (orange)</h2>
<table id="slabs"><thead><tr><th>class</th><th>chunk</th><th>pages</th><th>used chunks</th>
<th>items</th><th>evicted</th><th></th></tr></thead><tbody></tbody></table>
<script>
"use strict";
let last = null;
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
    const cmds = { get: s.cmd_get, set: s.cmd_set, touch: s.cmd_touch,
                   delete: s.delete_hits + s.delete_misses,
                   incr: s.incr_hits + s.incr_misses, decr: s.decr_hits + s.decr_misses };
    if (last) {
      const dt = (s.uptime - last.s.uptime) || 1;
      let total = 0, parts = [];
      for (const k in cmds) {
        const rate = Math.max(0, (cmds[k] - last.cmds[k]) / dt);
        total += rate;
        parts.push(k + " " + Math.round(rate));
      }
      $("ops").textContent = Math.round(total);
      $("ops_by_cmd").textContent = parts.join(" · ");
    }
    last = { s, cmds };
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
tick();
setInterval(tick, 1000);
</script>
</body>
</html>
)html";
  return kPage;
}

}  // namespace memcoro::admin
