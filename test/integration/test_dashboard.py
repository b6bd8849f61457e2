"""The dashboard in a real browser: headless Chromium (Debian's chromium)
loads it from a running memcoro under traffic; the numbers it shows must
match /stats. A screenshot is kept as a test artifact."""
import html.parser
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = os.environ.get("ARTIFACT_DIR", tempfile.gettempdir())


def chromium(url, *extra):
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=3000",
             *extra, url],
            capture_output=True, text=True, timeout=120)
    return out.stdout


class Page(html.parser.HTMLParser):
    """Collects the text and data attributes of elements with an id, and the
    slab table's rows."""

    def __init__(self):
        super().__init__()
        self.values, self.attrs_by_id, self.rows = {}, {}, []
        self.tables = {}  # table id: its body's rows (cell texts)
        self._id = None
        self._row = None
        self._table = None
        self._in_body = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self._id = attrs["id"]
            self.attrs_by_id[self._id] = attrs
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        if tag == "tbody":
            self._in_body = True
        if tag == "tr" and "data-cls" in attrs:
            self._row = []
            self.rows.append(self._row)
        elif tag == "tr" and self._in_body and self._table is not None:
            self._row = []
            self._table.append(self._row)
        if tag == "td" and self._row is not None:
            self._row.append("")

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None
        if tag == "tbody":
            self._in_body = False
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._id is not None and self._id not in self.values:
            self.values[self._id] = data.strip()
        if self._row is not None and self._row:
            self._row[-1] += data.strip()


@unittest.skipIf(CHROMIUM is None, "Debian's chromium is not installed")
class Dashboard(unittest.TestCase):
    def test_numbers_on_the_page_match_stats(self):
        with harness.Server(["-m", "8"], admin=True) as server:
            admin = server.admin
            url = f"http://127.0.0.1:{admin}/"
            with server.connect(timeout=30) as s:  # fill the cache past its limit
                s.sendall(b"".join(b"set p%d 0 0 2000 noreply\r\n%s\r\n" % (i, b"p" * 2000)
                                   for i in range(6000)) + b"mn\r\n")
                harness.read_reply(s, until=b"MN\r\n", idle=30)
            stop = threading.Event()
            done = []  # requests the traffic got answered

            def traffic():
                with server.connect() as s:
                    i = 0
                    while not stop.is_set():
                        harness.command(s, b"set k%d 0 0 2000\r\n%s\r\nget k%d\r\nget miss\r\n" %
                                        (i, b"v" * 2000, i), until=b"END\r\nEND\r\n")
                        i += 1
                        done.append(i)

            t = threading.Thread(target=traffic)
            started = time.monotonic()
            t.start()
            try:
                under_load = Page()
                under_load.feed(chromium(url, "--dump-dom"))
                self.assertTrue(under_load.values.get("status", "").startswith("updated"),
                                under_load.values)
                self.assertNotEqual(under_load.values.get("curr_items"), "–")
                # Traffic for more than one history interval, whatever the
                # page took: one whole second of samples covers it.
                while time.monotonic() - started < 2.5 or not done:
                    self.assertTrue(t.is_alive(), "the traffic thread died")
                    time.sleep(0.1)
            finally:
                stop.set()
                t.join()

            # Traffic stopped: what the page shows must be what /stats says
            # (once the history has a sample taken after the stop).
            time.sleep(1.5)
            page = Page()
            page.feed(chromium(url, "--dump-dom"))
            st = json.load(urllib.request.urlopen(f"http://127.0.0.1:{admin}/stats"))
            slabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{admin}/stats/slabs"))
            self.assertEqual(page.values["curr_items"], str(st["curr_items"]))
            self.assertEqual(page.values["evictions"], str(st["evictions"]))
            self.assertGreater(st["evictions"], 0)
            self.assertEqual(int(page.attrs_by_id["bytes"]["data-raw"]), st["bytes"])
            self.assertEqual(int(page.attrs_by_id["limit_maxbytes"]["data-raw"]),
                             st["limit_maxbytes"])
            self.assertEqual(int(page.attrs_by_id["hit_ratio"]["data-hits"]), st["get_hits"])
            self.assertEqual(int(page.attrs_by_id["hit_ratio"]["data-misses"]), st["get_misses"])
            self.assertEqual(page.values["hit_ratio"],
                             f"{100 * st['get_hits'] / (st['get_hits'] + st['get_misses']):.1f}%")
            shown = {row[0]: row for row in page.rows}
            self.assertEqual(set(shown), set(slabs["classes"]))
            for cls, row in shown.items():
                self.assertEqual(row[1], str(slabs["classes"][cls]["chunk_size"]))
                self.assertEqual(row[2], str(slabs["classes"][cls]["total_pages"]))

            # The headline rate is the history's latest second (the chart's
            # last points), not a difference of whole seconds of uptime.
            # (A page opened in the server's first second has no history
            # yet: then neither has a number.)
            for shown_page in (under_load, page):
                last_ops = json.loads(shown_page.attrs_by_id["chart_ops"]["data-last"])
                expected = ("–" if all(v is None for v in last_ops)
                            else str(math.floor(sum(v or 0 for v in last_ops) + 0.5)))
                self.assertEqual(shown_page.values["ops"], expected)
            # The charts' last points are the history's, which is /stats'.
            self.assertEqual(json.loads(page.attrs_by_id["chart_items"]["data-last"]),
                             [st["curr_items"]])
            self.assertEqual(json.loads(page.attrs_by_id["chart_mem"]["data-last"]),
                             [st["bytes"], st["limit_maxbytes"]])
            self.assertEqual(json.loads(page.attrs_by_id["chart_conns"]["data-last"]),
                             [st["curr_connections"]])
            history = json.load(urllib.request.urlopen(f"http://127.0.0.1:{admin}/stats/history"))
            self.assertGreaterEqual(len(history["t"]), 3)
            self.assertGreater(max(history["get"]), 0)  # the traffic is in the history
            # The latency table and the hot keys, as the JSON reports have them.
            latency = json.load(urllib.request.urlopen(f"http://127.0.0.1:{admin}/stats/latency"))
            table = {row[0]: row for row in page.tables["latency"]}
            self.assertEqual(table["get"][1], str(latency["get_count"]))
            self.assertEqual(table["set"][1], str(latency["set_count"]))
            hot = json.load(urllib.request.urlopen(f"http://127.0.0.1:{admin}/stats/hotkeys"))
            self.assertEqual(page.tables["hot_write"][0][1], hot["write_1_key"])
            self.assertEqual(len(page.tables["hot_read"]), 10)  # always ten rows: no jumps

            os.makedirs(ARTIFACTS, exist_ok=True)
            shot = os.path.join(ARTIFACTS, "dashboard.png")
            chromium(url, f"--screenshot={shot}", "--window-size=1280,900",
                     "--hide-scrollbars")
            self.assertTrue(os.path.getsize(shot) > 10000, shot)
            print(f"screenshot: {shot}")


if __name__ == "__main__":
    unittest.main()
