"""Load test: N real browser sessions on one dashboard server, as a class would use it.

    python scripts/load_test.py --sessions N [--json]

It starts ``streamlit run dashboard.py`` on a free loopback port and drives N Playwright contexts in
Debian's Chromium (several per browser process). Each session opens Home, then (by the sidebar's link,
as a visitor does) the ANN page, picks its own sample, trains 10 epochs, then colorizes the same sample
on the CNN page. It prints p50/p95/max of page paint and of click-to-result for Train and Colorize, the
jobs the server started and finished, errors and exceptions seen, the memory of the server and its
worker processes (start, peak, after every session closed), the wait before the last training started
against the fairness bound, the CPU time the server and the browsers used, and whether any session
ever saw another session's photo. Exit code 0 when every check passes, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ui.jobs import PROCESS_IDLE_S  # noqa: E402 - the server's worker processes close after this many idle s
from ui.server import HOUSEKEEPING_S  # noqa: E402 - ... looked at this often

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SAMPLES = ("coffee", "chelsea", "astronaut", "rocket", "china", "flower")
WAIT_MS = int(os.environ.get("LOAD_TEST_WAIT_MS", 300_000))
#: The server forgets a closed session this many seconds after its browser left (Streamlit's default is 120).
SESSION_TTL_S = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, str, float, float]]:
    """Every process now: pid -> (parent pid, command line, resident MB, CPU seconds so far)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        rss_mb = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        out[int(entry)] = (int(fields[1]), cmd, rss_mb, (int(fields[11]) + int(fields[12])) / _TICK)
    return out


def _tree(procs: dict, root: int) -> set[int]:
    """``root`` and all its descendants."""
    tree, grew = {root}, True
    while grew:
        new = {p for p, (parent, *_rest) in procs.items() if parent in tree} - tree
        tree |= new
        grew = bool(new)
    return tree & procs.keys()


def _rss_mb(pid: int) -> float | None:
    """The resident memory of a process and all its descendants (the server's worker processes), in MB."""
    procs = _processes()
    return sum(procs[p][2] for p in _tree(procs, pid)) if pid in procs else None


class Server:
    """``streamlit run dashboard.py`` on a free loopback port, healthy when built, its memory (with its worker processes') sampled every 0.5 s.

    Parameters
    ----------
    workers : int, optional
        ``COLORLAB_WORKERS`` for the server's job queue (default: its cores).
    session_ttl : int, optional
        ``server.disconnectedSessionTTL`` (default: Streamlit's).
    log : file, optional
        Where the server's output goes (default: nowhere).

    Raises
    ------
    RuntimeError
        The server exited or did not answer its health check within 90 s.
    """

    def __init__(self, workers: int | None = None, *, session_ttl: int | None = None, log=None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # as scripts/dashboard.sh starts a real server
        env = {"MALLOC_ARENA_MAX": "2", **os.environ, "PYTHONUNBUFFERED": "1", "COLORLAB_PRELOAD": "1"}
        if workers:
            env["COLORLAB_WORKERS"] = str(workers)
        cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.port", str(self.port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
        if session_ttl is not None:
            cmd += ["--server.disconnectedSessionTTL", str(session_ttl)]
        out = subprocess.DEVNULL if log is None else log
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.samples: list[float] = []
        # pid -> its CPU seconds when last seen, for each kind of process
        self.cpu_seen: dict[str, dict[int, float]] = {"server": {}, "worker processes": {}, "browsers": {}}
        self._stop = threading.Event()
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                code = self.proc.poll()
                self.close()
                raise RuntimeError(f"the dashboard server did not start (exit code {code})")
            time.sleep(0.2)
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            procs = _processes()
            if self.proc.pid not in procs:
                continue
            tree = _tree(procs, self.proc.pid)
            self.samples.append(sum(procs[p][2] for p in tree))
            for pid, (_parent, cmd, _rss, cpu) in procs.items():
                if pid == self.proc.pid:
                    self.cpu_seen["server"][pid] = cpu
                elif pid in tree:
                    self.cpu_seen["worker processes"][pid] = cpu
                elif "chromium" in cmd.split(" ", 1)[0]:  # the browser and its helper processes
                    self.cpu_seen["browsers"][pid] = cpu

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the server, its worker processes and the load test's browsers."""
        return {k: round(sum(v.values()), 1) for k, v in self.cpu_seen.items()}

    def rss(self) -> float:
        return _rss_mb(self.proc.pid) or float("nan")

    def close(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def _pick_sample(page, sample: str) -> None:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    await box.click()
    await page.get_by_role("option", name=sample, exact=True).click()


async def _open(page, title: str) -> None:
    """Go to another page as a visitor does, with the sidebar's link (no reload of the app)."""
    await page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()


async def _idle(page) -> None:
    await page.wait_for_timeout(300)
    await page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=WAIT_MS)


#: Runs in the page every 250 ms while a training is under way: it notes when the queue position, the first
#: epoch and the result appear (page clock, ms), reading ``textContent``, which needs no layout.
_WATCH_TRAINING = """epochs => {
  const text = document.querySelector('[data-testid="stMain"]')?.textContent || '';
  const w = window.__loadTest || (window.__loadTest = {});
  const now = performance.now();
  if (text.includes('waiting, position')) w.queued = true;
  if (w.start === undefined && new RegExp(`epoch \\\\d+/${epochs}\\\\b`).test(text)) w.start = now;
  const m = text.match(new RegExp(`\\\\d+ of ${epochs} epochs on '([^']+)'`));
  if (!m) return false;
  w.done = now; w.name = m[1];
  const waited = text.match(/(\\d+\\.\\d) s of it waiting/);
  w.waited = waited ? parseFloat(waited[1]) : 0;
  return w;
}"""


async def _session(i: int, browser, url: str, epochs: int, out: dict) -> None:
    sample = SAMPLES[i % len(SAMPLES)]
    rec = {"session": i, "sample": sample, "paint": [], "errors": [], "saw_other": False, "queued_seen": False}
    out[i] = rec
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("pageerror", lambda e: rec["errors"].append(f"page error: {e}"))
    try:
        t0 = time.perf_counter()
        await page.goto(url)
        await page.get_by_role("heading", name="Colorization Lab").wait_for()
        rec["paint"].append(time.perf_counter() - t0)
        await _idle(page)
        t0 = time.perf_counter()
        await _open(page, "ANN (numpy)")
        await page.get_by_role("button", name="Train", exact=True).wait_for()
        rec["paint"].append(time.perf_counter() - t0)
        await _idle(page)
        await _pick_sample(page, sample)
        await _idle(page)
        epochs_box = page.get_by_label("Epochs (passes over the pixels)")
        await epochs_box.fill(str(epochs))
        await epochs_box.press("Tab")
        clock0 = await page.evaluate("performance.now()")
        t0 = time.perf_counter()
        await page.get_by_role("button", name="Train", exact=True).click()
        seen = await (await page.wait_for_function(_WATCH_TRAINING, arg=epochs, polling=250)).json_value()
        rec["queued_seen"] = bool(seen.get("queued"))
        rec["train"] = (seen["done"] - clock0) / 1000
        rec["train_seen_running"] = (seen.get("start", seen["done"]) - clock0) / 1000
        rec["train_waited"] = seen["waited"]  # the server's count: from the click to a worker taking the job
        rec["saw_other"] |= seen["name"] != sample
        await _idle(page)
        t0 = time.perf_counter()
        await _open(page, "CNN (Keras)")
        colorize = page.get_by_role("button", name="Colorize", exact=True)
        await colorize.wait_for()
        await page.wait_for_function(
            "() => [...document.querySelectorAll('button')].some(b => b.innerText.trim().endsWith('Colorize') "
            "&& !b.disabled)"
        )
        rec["paint"].append(time.perf_counter() - t0)
        await _idle(page)
        await _pick_sample(page, sample)
        await _idle(page)
        t0 = time.perf_counter()
        await colorize.click()
        caption = page.get_by_text(re.compile(r"colorization #\d+ in this session"))
        await caption.wait_for()
        rec["colorize"] = time.perf_counter() - t0
        rec["saw_other"] |= f"'{sample}'" not in await caption.inner_text()
        await _idle(page)
        n = await page.locator('[data-testid="stException"]').count()
        rec["errors"] += ["exception on the page"] * n
        n = await page.locator('[data-testid="stAlertContentError"]').count()
        rec["errors"] += ["error message on the page"] * n
    except Exception as exc:  # noqa: BLE001 - counted and reported
        rec["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await ctx.close()


async def _warm_up(url: str) -> None:
    """One visit that loads what every server loads once (TensorFlow and the general model)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = await (await browser.new_context()).new_page()
        page.set_default_timeout(WAIT_MS)
        await page.goto(url)
        await page.get_by_role("heading", name="Colorization Lab").wait_for()
        await page.goto(f"{url}/cnn")
        await page.get_by_role("button", name="Colorize", exact=True).click()
        await page.get_by_text(re.compile(r"colorization #1 in this session")).wait_for()
        await browser.close()


async def _drive(n: int, per_browser: int, url: str, epochs: int) -> dict:
    from playwright.async_api import async_playwright

    out: dict = {}
    async with async_playwright() as p:
        browsers = [
            await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            for _ in range(math.ceil(n / per_browser))
        ]
        await asyncio.gather(*(_session(i, browsers[i // per_browser], url, epochs, out) for i in range(n)))
        ctx = await browsers[0].new_context()
        page = await ctx.new_page()
        await page.goto(url)
        line = await page.get_by_text("Since it started").inner_text()
        out["server_line"] = line
        await ctx.close()
        for b in browsers:
            await b.close()
    return out


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = sorted(values)
    p95 = v[min(len(v) - 1, math.ceil(0.95 * len(v)) - 1)]
    return {"n": len(v), "p50": round(statistics.median(v), 2), "p95": round(p95, 2), "max": round(v[-1], 2)}


def run(n: int, *, per_browser: int = 5, epochs: int = 10, workers: int | None = None) -> dict:
    """Drive ``n`` sessions against a fresh server and return the measurements.

    The memory at the start is the warm server's (after one visit loaded TensorFlow and the general model,
    and that visitor left); at the end, after every session closed and the server forgot them.
    """
    server = Server(workers, session_ttl=SESSION_TTL_S)
    # the server forgets the sessions, its worker processes close, then its housekeeping returns their memory
    settle = SESSION_TTL_S + PROCESS_IDLE_S + 2 * HOUSEKEEPING_S
    try:
        asyncio.run(_warm_up(server.url))
        time.sleep(settle)
        start_mb = server.rss()
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        out = asyncio.run(_drive(n, per_browser, server.url, epochs))
        wall = time.perf_counter() - t0
        cpu = {k: round(v - cpu0[k], 1) for k, v in server.cpu_seconds().items()}
        time.sleep(settle)  # the sessions have closed; give the server time to let go of them
        end_mb = server.rss()
        peak_mb = max(server.samples, default=float("nan"))
    finally:
        server.close()
    recs = [out[i] for i in range(n)]
    m = re.search(r"(\d+) of (\d+) jobs finished", out.get("server_line", ""))
    finished, submitted = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    trains = [r["train"] for r in recs if "train" in r]
    pool = workers or os.cpu_count() or 2
    # one training's time: the median click-to-result less the wait in the queue
    ran = [r["train"] - r["train_waited"] for r in recs if "train" in r]
    one = statistics.median(ran) if ran else float("nan")
    last_start = max((r.get("train_waited", float("nan")) for r in recs), default=float("nan"))
    bound = (n / pool + 1) * one
    errors = [f"session {r['session']}: {e}" for r in recs for e in r["errors"]]
    result = {
        "sessions": n,
        "workers": pool,
        "wall_seconds": round(wall, 1),
        "page_paint": _stats([t for r in recs for t in r["paint"]]),
        "train_click_to_result": _stats(trains),
        "colorize_click_to_result": _stats([r["colorize"] for r in recs if "colorize" in r]),
        "jobs_submitted": submitted,
        "jobs_finished": finished,
        "trainings_completed_in_browsers": len(trains),
        "queue_positions_seen": sum(r["queued_seen"] for r in recs),
        "errors": errors,
        "cpu_seconds": cpu,
        "memory_mb": {"start": round(start_mb), "peak": round(peak_mb), "after": round(end_mb)},
        "memory_returned_within_20_percent": bool(end_mb <= 1.2 * start_mb),
        "one_training_s": round(one, 1),
        "last_training_start_s": round(last_start, 1),
        "last_seen_running_s": round(max((r.get("train_seen_running", 0) for r in recs), default=0), 1),
        "fairness_bound_s": round(bound, 1),
        "cross_session_leak": any(r["saw_other"] for r in recs),
    }
    result["ok"] = bool(
        not errors
        and len(trains) == n
        and finished == submitted == n
        and not result["cross_session_leak"]
        and last_start <= bound
    )
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, required=True, help="browser sessions (1 to 60)")
    ap.add_argument("--per-browser", type=int, default=5, help="sessions per Chromium process (default 5)")
    ap.add_argument("--epochs", type=int, default=10, help="ANN epochs each session trains (default 10)")
    ap.add_argument("--workers", type=int, default=None, help="the server's job workers (default: its cores)")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = ap.parse_args(argv)
    if not 1 <= args.sessions <= 60 or args.per_browser < 1 or args.epochs < 1:
        print("load_test: --sessions must be 1 to 60, --per-browser and --epochs at least 1", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"load_test: {CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    res = run(args.sessions, per_browser=args.per_browser, epochs=args.epochs, workers=args.workers)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:36s} {v}")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
