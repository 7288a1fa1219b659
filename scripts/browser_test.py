"""Real-browser test of the built book: every page of ``_build/html`` in Debian's Chromium.

Usage (from the repository root, after ``jupyter-book build .``)::

    python scripts/browser_test.py [--html _build/html] [--screenshots _build/screenshots]
    python scripts/browser_test.py --root EDITION --html EDITION/_build/html   # a student edition

Serves the build on 127.0.0.1 (a random free port) and opens every HTML page it finds (no fixed
list: new chapters are covered as soon as they are built) in Chromium driven by Playwright. The
browser is the system's (``/usr/bin/chromium``, Debian's ``chromium`` package, or ``$CHROMIUM``);
Playwright's own browser download is never used. Requests to any other host are blocked and
reported, which proves the book works offline. For every page it checks:

- it loads with no failed request (network error or HTTP status >= 400), no request to another
  host, and no console error or uncaught exception other than the known-harmless ones listed in
  ``KNOWN_HARMLESS``;
- math renders: every ``.math`` element holds an ``mjx-container``, no MathJax error
  (``mjx-merror``) is shown, no raw TeX delimiters are left in the text, and a page whose source has
  ``$...$`` math has rendered math;
- every image has loaded (non-zero natural width); images without alt text are reported;
- notebook pages have the Binder and Colab launch buttons pointing at their own notebook, and every
  page built from a source file has the repository, issue and edit buttons (with its source path);
- every link into the book resolves to a built file, and its ``#fragment`` to an element id;
- search (``search.html?q=...``) finds each chapter from the longest word of its title;
- nothing is wider than the screen, on a 1280 px wide window and on a 390 px wide phone: the page
  itself never scrolls sideways (at either width), and at 1280 px no code block (a cell's code or
  its printed output, solutions unfolded) and no display equation scrolls sideways or is clipped
  inside its box. On the phone a code block or an equation wider than the screen scrolls inside
  its own box, as a phone reader expects, and such boxes are counted and listed but allowed;
- figure text is large enough to read at 1280 px: a figure stored by ``scripts/run_notebooks.py``
  carries in its output metadata (``image/png`` -> ``min_text_px``) the smallest font size, in
  pixels of the PNG, that matplotlib drew text with; the figure's displayed width over its natural
  width turns that into screen pixels, which must be at least ``MIN_FIGURE_TEXT_PX``. A figure
  without that record (a notebook executed otherwise) cannot be measured, and is counted as such;
- a sidebar shown as a drawer opens from its button: the menu on the phone, "On this page" at
  1280 px.

A full-page screenshot of every page goes to ``--screenshots`` (and one at phone width to
``--screenshots``/phone), with ``report.json`` listing every page, its load time and what was
found. Exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import nbformat
import yaml
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
# Console messages and page errors that are expected and harmless: (regex, why it is harmless).
KNOWN_HARMLESS = [
    (
        r"Identifier 'THEBE_JS_URL' has already been declared",
        "sphinx-thebe 0.3.1 writes its inline configuration (`const THEBE_JS_URL = ...`) twice "
        "into every page; the second copy throws, the first has defined everything, and thebe "
        "itself is loaded only if a reader starts live code, which this book does not offer",
    ),
]
# The window sizes of the overflow check: a laptop's browser window and a common phone.
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The smallest figure text, in screen pixels at 1280 px, that the check accepts. The book's prose
# is 16 px; 9 px is about the smallest a reader can still read without zooming.
MIN_FIGURE_TEXT_PX = 9.0
MATH_IN_SOURCE = re.compile(r"(?<![\\$])\$[^$\s][^$]*?\$|\$\$.+?\$\$", re.DOTALL)
# Raw TeX left in rendered text means math that was not typeset.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$\\[a-zA-Z]")

PAGE_PROBE_JS = """
async () => {
  const text = (el) => (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 80);
  // Images: load every lazily loaded one, then wait (at most 15 s) until all have settled.
  const imgs = [...document.images];
  imgs.forEach((i) => { i.loading = 'eager'; });
  const settled = imgs.map((i) => (i.complete ? null : new Promise((resolve) => {
    i.addEventListener('load', resolve); i.addEventListener('error', resolve);
  })));
  await Promise.race([Promise.all(settled), new Promise((r) => setTimeout(r, 15000))]);
  // Math: MathJax typesets after loading; wait for it when it is there.
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const maths = [...document.querySelectorAll('.math')];
  // Text outside code, scripts and typeset math, to look for raw TeX that was not typeset.
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .output';
  const prose = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.parentElement.closest(skip)) prose.push(n.textContent);
  }
  return {
    title: document.title,
    h1: text(document.querySelector('main h1') || document.createElement('h1')),
    math: maths.length,
    mathRendered: maths.filter((m) => m.querySelector('mjx-container')).length,
    mathMissing: maths.filter((m) => !m.querySelector('mjx-container')).map(text).slice(0, 5),
    mathErrors: [...document.querySelectorAll('mjx-merror')].map(
      (e) => e.getAttribute('data-mjx-error') || text(e)).slice(0, 5),
    prose: prose.join(' '),
    images: imgs.map((i) => ({
      src: i.currentSrc || i.src, width: i.naturalWidth, alt: i.getAttribute('alt'),
    })),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    ids: [...document.querySelectorAll('[id]')].map((e) => e.id),
  };
}
"""

# What is wider than its box, measured after every <details> (a folded solution) is opened: the
# page itself (anything reaching past the window's right edge), every code block (<pre>: a cell's
# code, its printed output, a code block of the prose) and every display equation (MathJax puts it
# in an mjx-container that scrolls, or clips when a theme hides the overflow).
OVERFLOW_PROBE_JS = """
() => {
  document.querySelectorAll('details').forEach((d) => { d.open = true; });
  const text = (el) => (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  const root = document.documentElement;
  const width = root.clientWidth;
  const shown = (el) => el.getClientRects().length > 0 && el.clientWidth > 0;
  const wider = (el) => el.scrollWidth - el.clientWidth;
  const code = [...document.querySelectorAll('main pre')].filter(shown);
  const codeOver = code.filter((el) => wider(el) > 1).map((el) => ({
    px: wider(el), text: text(el),
    kind: el.closest('.cell_input, .highlight') && !el.closest('.cell_output') ? 'code' : 'output',
  }));
  const maths = [...document.querySelectorAll('main mjx-container[display="true"]')].filter(shown);
  const mathOver = maths.map((el) => {
    // The typeset formula's own width against the box it has: scrolled or clipped, both count.
    const inner = el.querySelector('mjx-math') || el;
    const box = el.parentElement.closest('div.math') || el;
    const px = Math.max(wider(el), wider(box),
                        inner.getBoundingClientRect().width - el.clientWidth);
    return { px: Math.round(px), text: (el.querySelector('mjx-assistive-mml') || el)
      .textContent.trim().replace(/\\s+/g, ' ').slice(0, 60) };
  }).filter((m) => m.px > 1);
  // The page: anything that reaches past the right edge and is not inside a box that scrolls.
  const sticking = [];
  if (root.scrollWidth > width + 1) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= width + 1) continue;
      let inside = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) {
          inside = true;
          break;
        }
      }
      if (!inside && !sticking.some((s) => s.el.contains(el))) {
        sticking.push({ el, desc: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
          + (el.className && typeof el.className === 'string'
             ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
          + ' "' + text(el).slice(0, 30) + '" to ' + Math.round(r.right) + ' px' });
      }
    }
  }
  // Figures: each image's displayed width over its natural width (the file's own pixels).
  const figures = [...document.querySelectorAll('main img')].filter(
    (i) => i.naturalWidth > 0 && shown(i)).map((i) => ({
      src: i.currentSrc || i.src, scale: i.getBoundingClientRect().width / i.naturalWidth,
      natural: i.naturalWidth, shown: Math.round(i.getBoundingClientRect().width) }));
  return {
    width, pageWidth: root.scrollWidth, sticking: sticking.map((s) => s.desc).slice(0, 5),
    code: code.length, codeOver, math: maths.length, mathOver, figures,
  };
}
"""


@dataclass
class PageResult:
    page: str
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    math: int = 0
    images: int = 0
    links: int = 0
    screenshot: str = ""
    # Overflow counts per window width ("1280", "390"): code blocks, equations, and how many of
    # each are wider than their box; the page's own width.
    overflow: dict = field(default_factory=dict)
    figure_text: list = field(default_factory=list)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on 127.0.0.1 at a free port, in a daemon thread; return (server, url)."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def find_pages(html: Path) -> list[str]:
    """Every built HTML page, as a path relative to ``html``, skipping the build's asset folders."""
    pages = []
    for path in sorted(html.rglob("*.html")):
        rel = path.relative_to(html)
        if not any(part.startswith("_") for part in rel.parts[:-1]):
            pages.append(rel.as_posix())
    return pages


def source_of(page: str) -> Path | None:
    """The repository file a page was built from (``book/x.html`` -> ``book/x.ipynb``/``.md``)."""
    stem = page[: -len(".html")]
    for suffix in (".ipynb", ".md"):
        candidate = ROOT / (stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def source_has_math(source: Path) -> bool:
    if source.suffix == ".ipynb":
        nb = nbformat.read(source, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    else:
        text = source.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.DOTALL)  # code spans and blocks
    return bool(MATH_IN_SOURCE.search(text))


@functools.cache
def figure_text_sizes(source: Path) -> dict[str, float]:
    """Smallest text of each recorded figure of a notebook, in PNG pixels, by the PNG's sha256.

    Jupyter Book (myst-nb) names a figure's file after the sha256 of its PNG bytes, which matches
    a page's ``<img>`` to its notebook output. ``scripts/run_notebooks.py`` records the size.
    """
    if source.suffix != ".ipynb":
        return {}
    sizes = {}
    for cell in nbformat.read(source, as_version=4).cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            size = output.get("metadata", {}).get("image/png", {}).get("min_text_px")
            if png and size:
                sizes[hashlib.sha256(base64.b64decode(png)).hexdigest()] = float(size)
    return sizes


def check_overflow(result: PageResult, probe: dict, label: str, strict: bool) -> None:
    """Record a page's overflow probe; the page overflowing always fails, boxes only if strict."""
    result.overflow[label] = {
        "page_width": probe["pageWidth"],
        "code": probe["code"],
        "code_overflowing": len(probe["codeOver"]),
        "math": probe["math"],
        "math_overflowing": len(probe["mathOver"]),
        "wider": [f"+{o['px']} px: {o['text']}" for o in probe["codeOver"] + probe["mathOver"]],
    }
    if probe["pageWidth"] > probe["width"] + 1:
        result.failures.append(
            f"at {label} px the page is {probe['pageWidth']} px wide: {probe['sticking']}"
        )
    boxes = [
        f"{len(probe['codeOver'])} of {probe['code']} code blocks",
        f"{len(probe['mathOver'])} of {probe['math']} display equations",
    ]
    if probe["codeOver"] or probe["mathOver"]:
        worst = sorted(probe["codeOver"] + probe["mathOver"], key=lambda o: -o["px"])[:3]
        detail = "; ".join(f"+{o['px']} px: {o['text']}" for o in worst)
        message = f"at {label} px {' and '.join(boxes)} are wider than their box ({detail})"
        (result.failures if strict else result.warnings).append(message)


def check_figure_text(result: PageResult, probe: dict, base: str, source: Path | None) -> None:
    """Smallest figure text on screen, where the notebook recorded the size it was drawn at."""
    sizes = figure_text_sizes(source) if source is not None else {}
    unmeasured = 0
    for figure in probe["figures"]:
        if not figure["src"].startswith(base + "_images/"):
            continue  # logos and button icons
        digest = figure["src"].rsplit("/", 1)[-1].split(".")[0]
        if digest not in sizes:
            unmeasured += 1
            continue
        on_screen = sizes[digest] * figure["scale"]
        name = figure["src"][len(base) - 1 :]
        result.figure_text.append({"image": name, "px": round(on_screen, 1)})
        if on_screen < MIN_FIGURE_TEXT_PX:
            result.failures.append(
                f"figure text {on_screen:.1f} px on screen (drawn at {sizes[digest]:.1f} px, "
                f"{figure['natural']} px wide shown at {figure['shown']} px) is below "
                f"{MIN_FIGURE_TEXT_PX} px: {name}"
            )
    if unmeasured:
        result.warnings.append(f"{unmeasured} figures without a recorded text size")


def harmless(message: str) -> str | None:
    """The reason a message is known to be harmless, or None."""
    for pattern, reason in KNOWN_HARMLESS:
        if re.search(pattern, message):
            return reason
    return None


@functools.cache
def ids_in_file(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r"""\s(?:id|name)=["']([^"']+)["']""", text))


def check_link(href: str, base: str, html: Path, page: str, page_ids: set[str]) -> str | None:
    """None if an internal link resolves, else what is wrong; links elsewhere are not checked."""
    if not href.startswith(base):
        return None
    url, fragment = urldefrag(href)
    rel = unquote(urlsplit(url).path)[len(urlsplit(base).path) :]
    target = html / rel
    if rel == "" or target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"broken link {href[len(base) - 1 :]} (no file {target.relative_to(html)})"
    if fragment and target.suffix == ".html":
        ids = page_ids if target == html / page else ids_in_file(target)
        if unquote(fragment) not in ids:
            return f"broken link {href[len(base) - 1 :]} (no id '{fragment}' in the page)"
    return None


def load_config() -> dict:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo_url = config["repository"]["url"].rstrip("/")
    return {
        "repo_url": repo_url,
        "branch": config["repository"].get("branch", "main"),
        "org_repo": "/".join(urlsplit(repo_url).path.strip("/").split("/")[:2]),
        "binder": config.get("launch_buttons", {}).get("binderhub_url", "").rstrip("/"),
        "colab": config.get("launch_buttons", {}).get("colab_url", "").rstrip("/"),
    }


def check_buttons(result: PageResult, links: list[str], source: Path | None, config: dict) -> None:
    """Launch buttons on notebook pages; repository, issue and edit buttons on source pages."""
    if source is None:
        return
    path = source.relative_to(ROOT).as_posix()
    repo, branch = config["repo_url"], config["branch"]
    wanted = {
        "repository button": lambda h: h == repo,
        "issues button": lambda h: h.startswith(f"{repo}/issues/new"),
        "edit button": lambda h: h == f"{repo}/edit/{branch}/{path}",
    }
    if source.suffix == ".ipynb":
        binder_prefix = f"{config['binder']}/v2/gh/{config['org_repo']}/{branch}?"
        wanted["Binder button"] = lambda h: h.startswith(binder_prefix) and h.endswith(f"/{path}")
        colab = f"{config['colab']}/github/{config['org_repo']}/blob/{branch}/{path}"
        wanted["Colab button"] = lambda h: h == colab
    for name, matches in wanted.items():
        if not any(matches(h) for h in links):
            result.failures.append(f"no {name} for {path}")


def check_page(
    pw_page, base: str, html: Path, page: str, config: dict, shots: Path, require_alt: bool
) -> PageResult:
    result = PageResult(page)
    problems: list[str] = []
    external: set[str] = set()

    def on_console(msg):
        if msg.type == "error":
            problems.append(f"console error: {msg.text}")

    def on_request_failed(request):
        if request.url not in external:
            problems.append(f"failed request: {request.url} ({request.failure})")

    def on_response(response):
        if response.status >= 400:
            problems.append(f"HTTP {response.status}: {response.url}")

    def on_route(route):
        if route.request.url.startswith(base) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            external.add(route.request.url)
            route.abort()

    pw_page.on("console", on_console)
    pw_page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    pw_page.on("requestfailed", on_request_failed)
    pw_page.on("response", on_response)
    pw_page.route("**/*", on_route)

    start = time.perf_counter()
    text = (html / page).read_text(encoding="utf-8", errors="replace")
    redirect = re.search(r"""http-equiv=["']refresh["'][^>]*url=([^"'>]+)""", text, re.I)
    if redirect:  # e.g. index.html, written by Jupyter Book as a redirect to the root page
        target = urlsplit(base + page)._replace(query="", fragment="")
        expected = (target.geturl().rsplit("/", 1)[0] + "/" + redirect.group(1).strip()).strip()
        pw_page.goto(base + page)
        pw_page.wait_for_url(expected, timeout=15000)
        pw_page.wait_for_load_state("networkidle")
        result.seconds = time.perf_counter() - start
        result.warnings.append(f"redirect to {redirect.group(1).strip()} (checked as its own page)")
        collect(result, problems, external)
        return result

    pw_page.goto(base + page, wait_until="load")
    probe = pw_page.evaluate(PAGE_PROBE_JS)
    pw_page.wait_for_load_state("networkidle")
    result.seconds = time.perf_counter() - start

    # Math.
    result.math = probe["math"]
    if probe["mathMissing"]:
        result.failures.append(f"math not typeset: {probe['mathMissing']}")
    if probe["mathErrors"]:
        result.failures.append(f"MathJax errors: {probe['mathErrors']}")
    raw = RAW_TEX.search(probe["prose"])
    if raw:
        context = probe["prose"][max(0, raw.start() - 40) : raw.end() + 40]
        result.failures.append(f"raw TeX in the text: ...{context}...")
    source = source_of(page)
    if source is not None and source_has_math(source) and probe["mathRendered"] == 0:
        result.failures.append(f"{source.name} has math but the page shows none")

    # Images.
    result.images = len(probe["images"])
    no_alt = 0
    for image in probe["images"]:
        name = image["src"][len(base) - 1 :] if image["src"].startswith(base) else image["src"]
        if image["width"] == 0:
            result.failures.append(f"image did not load: {name}")
        alt = (image["alt"] or "").strip()
        no_alt += not alt or bool(re.search(r"\.(png|jpe?g|svg|gif)$", alt))
    if no_alt:
        message = f"{no_alt} of {result.images} images without alt text"
        (result.failures if require_alt else result.warnings).append(message)

    # Buttons and links.
    check_buttons(result, probe["links"], source, config)
    result.links = len(probe["links"])
    page_ids = set(probe["ids"])
    for href in sorted(set(probe["links"])):
        problem = check_link(href, base, html, page, page_ids)
        if problem:
            result.failures.append(problem)

    shot = shots / (page[: -len(".html")] + ".png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    pw_page.screenshot(path=str(shot), full_page=True)
    result.screenshot = shot.relative_to(shots).as_posix()

    # Overflow and figure text at 1280 px (after the screenshot: it opens folded solutions).
    overflow = pw_page.evaluate(OVERFLOW_PROBE_JS)
    check_overflow(result, overflow, str(DESKTOP["width"]), strict=True)
    check_figure_text(result, overflow, base, source)
    check_sidebar_button(result, pw_page, "secondary", str(DESKTOP["width"]))
    collect(result, problems, external)
    return result


def check_phone(pw_page, base: str, page: str, shots: Path, result: PageResult) -> None:
    """The page at phone width: it must not scroll sideways; a full-page screenshot of it."""
    pw_page.goto(base + page, wait_until="load")
    pw_page.evaluate(
        "async () => { if (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        " await MathJax.startup.promise; }"
    )
    pw_page.wait_for_load_state("networkidle")
    shot = shots / "phone" / (page[: -len(".html")] + ".png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    pw_page.screenshot(path=str(shot), full_page=True)
    check_overflow(result, pw_page.evaluate(OVERFLOW_PROBE_JS), str(PHONE["width"]), strict=False)
    check_sidebar_button(result, pw_page, "primary", str(PHONE["width"]))


def check_sidebar_button(result: PageResult, pw_page, side: str, label: str) -> None:
    """The visible button for a sidebar shown as a drawer (the menu on a phone, "On this page"
    at 1280 px) must open it: the theme moves the sidebar into a dialog, which must be open."""
    button = pw_page.locator(f".{side}-toggle").filter(visible=True)
    if button.count() == 0:
        return  # the sidebar is shown beside the article: no button needed
    button.first.click()
    try:
        pw_page.wait_for_function(
            f"() => document.querySelector('#pst-{side}-sidebar-modal[open]') !== null",
            timeout=3000,
        )
    except Exception:  # noqa: BLE001 - reported as a failure
        result.failures.append(f"at {label} px the {side} sidebar's button does not open it")


def collect(result: PageResult, problems: list[str], external: set[str]) -> None:
    """Sort what the page's listeners saw into failures and allowlisted messages."""
    for url in sorted(external):
        result.failures.append(f"request to another host (blocked): {url}")
    for problem in problems:
        reason = harmless(problem)
        if reason:
            result.allowed.append(f"{problem.splitlines()[0]} -- known harmless: {reason}")
        elif not problem.startswith("console error: Failed to load resource"):
            result.failures.append(problem.splitlines()[0])
        elif not any(p.startswith(("failed request", "HTTP")) for p in problems):
            result.failures.append(problem.splitlines()[0])  # else already reported as a request


def check_search(context, base: str, pages: list[str], shots: Path) -> list[str]:
    """Search for the longest word of each chapter's title; that chapter must be in the results."""
    failures = []
    for page in pages:
        source = source_of(page)
        if source is None or source.suffix != ".ipynb":
            continue
        nb = nbformat.read(source, as_version=4)
        title = next((c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"), "")
        words = re.findall(r"[A-Za-z]{4,}", title)
        if not words:
            continue
        term = max(words, key=len).lower()
        pw_page = context.new_page()
        pw_page.goto(f"{base}search.html?q={term}", wait_until="load")
        shot = shots / "search" / f"{term}.png"
        try:
            pw_page.wait_for_function(
                "() => /Search finished|did not match/.test("
                "(document.querySelector('#search-results') || {}).textContent || '')",
                timeout=30000,
            )
            found = pw_page.eval_on_selector_all(
                "#search-results a", "as => as.map(a => a.getAttribute('href'))"
            )
            if not shot.exists():
                shot.parent.mkdir(parents=True, exist_ok=True)
                pw_page.screenshot(path=str(shot), full_page=False)
        except Exception as exc:  # noqa: BLE001 - reported as a failure
            found, failures = [], [*failures, f"search for '{term}' did not finish: {exc}"]
        pw_page.close()
        if not any(h and h.split("#")[0].split("?")[0].endswith(page) for h in found):
            failures.append(f"search for '{term}' does not list {page} (found {len(found)})")
        else:
            print(f"  search '{term}': {len(found)} results, {page} among them", flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        help="the book's repository, whose _config.yml and sources the buttons are checked "
        "against (default: this one; the student edition's folder for its book)",
    )
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--only", nargs="*", help="check only these pages (default: all)")
    parser.add_argument(
        "--require-alt",
        action="store_true",
        help="fail (instead of noting) images without alt text (a notebook figure gets one from "
        "its cell's metadata: mystnb.image.alt)",
    )
    args = parser.parse_args(argv)
    globals()["ROOT"] = args.root.resolve()  # the book's repository, for the buttons' checks

    html = args.html.resolve()
    if not (html / "index.html").is_file():
        print(f"error: no book in {html}; build it first (bash scripts/build_book.sh)")
        return 2
    if not Path(args.chromium).exists():
        print(f"error: no Chromium at {args.chromium}: apt-get install chromium (or set $CHROMIUM)")
        return 2
    pages = args.only or find_pages(html)
    config = load_config()
    args.screenshots.mkdir(parents=True, exist_ok=True)
    server, base = serve(html)
    start = time.perf_counter()
    results: list[PageResult] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport=DESKTOP)
            print(f"==> {len(pages)} pages from {html} served at {base}", flush=True)
            for page in pages:
                pw_page = context.new_page()
                try:
                    result = check_page(
                        pw_page, base, html, page, config, args.screenshots, args.require_alt
                    )
                except Exception as exc:  # noqa: BLE001 - one broken page must not hide the rest
                    result = PageResult(page, failures=[f"could not check the page: {exc}"])
                pw_page.close()
                results.append(result)
                status = "FAIL" if result.failures else "ok"
                print(
                    f"  {status:4} {page}: {result.seconds:.1f} s, {result.math} math, "
                    f"{result.images} images, {result.links} links",
                    flush=True,
                )
            search_failures = check_search(context, base, pages, args.screenshots)
            # Every page again at phone width (the sidebar collapses into a menu).
            phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
            for result in results:
                if not result.page.endswith(".html") or result.page == "index.html":
                    continue  # index.html only redirects
                pw_page = phone.new_page()
                try:
                    check_phone(pw_page, base, result.page, args.screenshots, result)
                except Exception as exc:  # noqa: BLE001 - reported as a failure
                    result.failures.append(f"could not check the page at phone width: {exc}")
                pw_page.close()
            browser.close()
    finally:
        server.shutdown()
    seconds = time.perf_counter() - start

    failed = [r for r in results if r.failures]
    for result in results:
        for item in result.failures:
            print(f"FAIL {result.page}: {item}")
        for item in result.warnings:
            print(f"note {result.page}: {item}")
    allowed: dict[str, list[str]] = {}
    for result in results:
        for item in result.allowed:
            allowed.setdefault(item, []).append(result.page)
    for item, where in allowed.items():
        print(f"allowed on {len(where)} pages: {item}")
    for label in (str(DESKTOP["width"]), str(PHONE["width"])):
        counts = [r.overflow[label] for r in results if label in r.overflow]
        wide = sum(c["page_width"] > int(label) + 1 for c in counts)
        print(
            f"overflow at {label} px: {sum(c['code_overflowing'] for c in counts)} of "
            f"{sum(c['code'] for c in counts)} code blocks, "
            f"{sum(c['math_overflowing'] for c in counts)} of {sum(c['math'] for c in counts)} "
            f"display equations wider than their box; {wide} of {len(counts)} pages too wide"
        )
    sizes = [f["px"] for r in results for f in r.figure_text]
    if sizes:
        print(f"figure text at 1280 px: {len(sizes)} figures measured, smallest {min(sizes)} px")
    for item in search_failures:
        print(f"FAIL search: {item}")
    report = {
        "pages": [vars(r) for r in results],
        "search_failures": search_failures,
        "seconds": round(seconds, 1),
    }
    (args.screenshots / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    n_fail = len(failed) + (1 if search_failures else 0)
    print(
        f"==> browser test: {len(results) - len(failed)} passed, {n_fail} failed "
        f"({len(results)} pages and search, {seconds:.0f} s); screenshots in {args.screenshots}"
    )
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
