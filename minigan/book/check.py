"""The book checked in a real browser: headless Chromium over its DevTools pipe.

``check_site(site_dir, chromium)`` serves the built site on 127.0.0.1 (a port the system
picks), opens every page in one headless Chromium, and records:

* every request the server answered with an error (a page, image, script or font that
  is missing) and every request to another host (the site must need no network);
* images that did not load (``naturalWidth`` 0);
* maths left untypeset: a ``$$``, ``\\(`` or ``\\[`` in the text outside code, or an
  ``arithmatex`` span with no MathJax output in it;
* links between the site's pages that lead nowhere: a page the server does not have,
  or an ``#anchor`` that is not on its page;
* whether the site's search finds "optimal discriminator".

Chromium is driven through ``--remote-debugging-pipe`` (the DevTools protocol as
NUL-separated JSON on file descriptors 3 and 4), so the standard library is all it
takes: no WebDriver, no websocket client.
"""
import base64
import functools
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

SEARCH_QUERY = "optimal discriminator"
PAGE_TIMEOUT_S = 30
SEARCH_TIMEOUT_S = 30
SCREENSHOTS = {"home": "index.html", "chapter_02": "chapters/02_minimax_1d/index.html",
               "api_theory": "api/gan/theory.html"}

# Run in each page once it has loaded: waits for MathJax, then reports what the check needs.
INSPECT_PAGE = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = [...document.images];
  await Promise.all(images.map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  const article = document.querySelector("article") || document.body;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
    acceptNode: node => node.parentElement.closest("pre, code, script, style, mjx-container")
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const raw = [];
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent;
    for (const mark of ["$$", "\\(", "\\[", "\\begin{"]) {
      if (text.includes(mark)) raw.push(text.trim().slice(0, 80));
    }
  }
  const spans = [...document.querySelectorAll(".arithmatex")];
  return JSON.stringify({
    title: document.title,
    broken_images: images.filter(img => img.naturalWidth === 0).map(img => img.src),
    images: images.length,
    math_spans: spans.length,
    untypeset: spans.filter(span => !span.querySelector("mjx-container"))
                    .map(span => span.textContent.slice(0, 80)),
    typeset: document.querySelectorAll("mjx-container").length,
    raw_math: raw,
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    ids: [...document.querySelectorAll("[id]")].map(element => element.id),
    resources: performance.getEntriesByType("resource").map(entry => entry.name),
  });
})()
"""

SEARCH_RESULTS = r"""
JSON.stringify([...document.querySelectorAll(".md-search-result__item")]
               .map(item => item.textContent.replace(/\s+/g, " ").trim()))
"""


def find_chromium():
    """The Chromium to use: ``MINIGAN_CHROMIUM``, else the first of the usual names on PATH."""
    named = os.environ.get("MINIGAN_CHROMIUM")
    if named:
        return shutil.which(named)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Report:
    """What the check found; ``ok`` when nothing is wrong."""

    def __init__(self):
        self.pages = 0
        self.images = 0
        self.math_pages = 0
        self.typeset = 0
        self.links = 0
        self.search_results = []
        self.problems = []
        self.screenshots = []
        self.seconds = 0.0

    @property
    def ok(self):
        return not self.problems

    def summary(self):
        head = (f"browser check: {self.pages} pages, {self.images} images, "
                f"{self.typeset} formulas typeset on {self.math_pages} pages, "
                f"{self.links} internal links, search for {SEARCH_QUERY!r}: "
                f"{len(self.search_results)} results; {self.seconds:.1f} s")
        if self.screenshots:
            head += "\nscreenshots: " + ", ".join(str(path) for path in self.screenshots)
        if self.ok:
            return head + "\nno problems found"
        shown = self.problems[:40]
        more = f"\n  ... and {len(self.problems) - 40} more" if len(self.problems) > 40 else ""
        return head + f"\n{len(self.problems)} problem(s):\n  " + "\n  ".join(shown) + more


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site, keeping every path it could not serve instead of logging it."""

    failures = None             # set per server: list of (status, path)

    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        self.failures.append((code, self.path))
        super().send_error(code, message, explain)


class QuietServer(http.server.ThreadingHTTPServer):
    """A browser that moves on closes connections mid-answer: not worth a traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def serve(site_dir):
    """Start a server for ``site_dir`` on 127.0.0.1; return (server, base URL, failures)."""
    failures = []
    handler = type("SiteHandler", (QuietHandler,), {"failures": failures})
    server = QuietServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/", failures


class Browser:
    """One headless Chromium, spoken to over the DevTools protocol on a pipe."""

    def __init__(self, chromium, width=1280, height=900):
        self.profile = tempfile.mkdtemp(prefix="minigan-chromium-")
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        arguments = [chromium, "--headless", "--remote-debugging-pipe", "--no-sandbox",
                     "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-background-networking",
                     "--disable-sync", "--disable-component-update", "--hide-scrollbars",
                     f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]
        # The protocol wants the pipe on descriptors 3 (to Chromium) and 4 (from it):
        # the shell moves our stdin/stdout pipes there.
        self.process = subprocess.Popen(
            ["sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null'] + arguments,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.next_id = 0
        self.buffer = b""
        self.events = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                  session=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.process.stdout.fileno(), 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe (see "
                                   f"{self.log.name})")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method, params=None, session=False, timeout=PAGE_TIMEOUT_S):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.process.stdin.write(json.dumps(message).encode() + b"\0")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event, timeout=PAGE_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.events):
                if message.get("method") == event:
                    del self.events[: index + 1]
                    return message
            self.events.append(self._read_message(deadline))

    def open(self, url):
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=True)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression, timeout=PAGE_TIMEOUT_S):
        result = self.send("Runtime.evaluate",
                           {"expression": expression, "awaitPromise": True,
                            "returnByValue": True}, session=True, timeout=timeout)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("text", "a script failed"))
        return result["result"].get("value")

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        pathlib.Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def check_site(site_dir, chromium, screenshots=None, pages=None):
    """Open every page of the built site in ``chromium`` (or only ``pages``); return a ``Report``.

    ``screenshots``: a folder for PNGs of the pages named in SCREENSHOTS. Links from the
    pages opened are checked against the whole site; anchors only on pages opened.
    """
    site_dir = pathlib.Path(site_dir)
    report = Report()
    start = time.monotonic()
    server, base, failures = serve(site_dir)
    browser = Browser(chromium)
    ids, links = {}, set()
    try:
        if pages is None:
            pages = sorted(path.relative_to(site_dir).as_posix()
                           for path in site_dir.rglob("*.html"))
        for page in pages:
            url = urllib.parse.urljoin(base, page)
            try:
                browser.open(url)
                found = json.loads(browser.evaluate(INSPECT_PAGE))
            except (RuntimeError, TimeoutError) as error:
                report.problems.append(f"{page}: did not load: {error}")
                continue
            report.pages += 1
            report.images += found["images"]
            report.typeset += found["typeset"]
            report.math_pages += bool(found["math_spans"])
            ids[page] = set(found["ids"])
            for src in found["broken_images"]:
                report.problems.append(f"{page}: image did not load: {src}")
            for text in found["untypeset"]:
                report.problems.append(f"{page}: maths not typeset: {text!r}")
            for text in found["raw_math"]:
                report.problems.append(f"{page}: raw maths delimiters in the text: {text!r}")
            for resource in found["resources"]:
                if not resource.startswith(base) and not resource.startswith(("data:", "blob:")):
                    report.problems.append(f"{page}: loads from another host: {resource}")
            for link in found["links"]:
                if link.startswith(base):
                    links.add((page, link))
            if screenshots is not None and page in SCREENSHOTS.values():
                folder = pathlib.Path(screenshots)
                folder.mkdir(parents=True, exist_ok=True)
                name = next(key for key, value in SCREENSHOTS.items() if value == page)
                path = folder / f"{name}.png"
                browser.screenshot(path)
                report.screenshots.append(path)

        # Links between pages: the target must exist, and so must its #anchor.
        report.links = len(links)
        status = {}
        for page, link in sorted(links):
            address, _, fragment = link.partition("#")
            address = address.split("?")[0]
            path = urllib.parse.unquote(address[len(base):]) or "index.html"
            if path.endswith("/"):
                path += "index.html"
            if path not in status:
                try:
                    with urllib.request.urlopen(address, timeout=10) as response:
                        status[path] = response.status
                except urllib.error.HTTPError as error:
                    status[path] = error.code
            if status[path] != 200:
                report.problems.append(f"{page}: link to a missing page: {link} ({status[path]})")
            elif fragment and path in ids and urllib.parse.unquote(fragment) not in ids[path]:
                report.problems.append(f"{page}: link to a missing anchor: {link}")

        # The search: Material reads ?q= and runs it in its web worker.
        browser.open(urllib.parse.urljoin(base, "index.html?q=" + urllib.parse.quote(SEARCH_QUERY)))
        deadline = time.monotonic() + SEARCH_TIMEOUT_S
        while time.monotonic() < deadline:
            report.search_results = json.loads(browser.evaluate(SEARCH_RESULTS))
            if report.search_results:
                break
            time.sleep(0.25)
        if not any(SEARCH_QUERY in result.lower() for result in report.search_results):
            report.problems.append(f"the search for {SEARCH_QUERY!r} found nothing with those "
                                   f"words ({len(report.search_results)} results)")
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    for code, path in failures:
        report.problems.append(f"the server answered {code} for {path}")
    report.seconds = time.monotonic() - start
    return report
