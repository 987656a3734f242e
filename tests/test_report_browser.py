"""The HTML report in a real headless browser: no broken image, every figure visible, no overflow.

Debian's ``chromium`` runs the page at 1280 px width.  A script appended to a
copy of the page measures it after load and writes the result into the DOM,
which ``--dump-dom`` prints.  Where no browser is installed the test skips,
except under CI, where ``.ci/run`` installs one and a skip would hide a
regression.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from convtheory.report import run_report, to_html

WIDTH = 1280
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_PROBE = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var hidden = images.filter(function (i) {
    var r = i.getBoundingClientRect(), s = getComputedStyle(i);
    return r.width < 50 || r.height < 20 || s.display === "none" || s.visibility === "hidden";
  });
  var root = document.documentElement;
  var wide = Array.prototype.slice.call(document.querySelectorAll("body *")).filter(
    function (e) { return e.getBoundingClientRect().right > root.clientWidth + 1; });
  var out = document.createElement("pre");
  out.id = "probe-result";
  out.textContent = JSON.stringify({
    images: images.length, broken: broken.map(function (i) { return i.alt; }),
    hidden: hidden.map(function (i) { return i.alt; }),
    viewport: window.innerWidth, scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
    wide: wide.slice(0, 5).map(function (e) { return e.tagName + ": " + e.textContent.slice(0, 60); })
  });
  document.body.appendChild(out);
});
</script>
"""


def _browser():
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI must check the HTML report in a browser, but none is installed; "
                    ".ci/run installs Debian's chromium")
    pytest.skip("no headless browser (chromium) is installed")


def _measure(html_text, tmp_path):
    browser = _browser()
    page = tmp_path / "page.html"
    page.write_text(html_text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={profile}", f"--window-size={WIDTH},900",
         "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, flags=re.S)
    assert found, f"the page did not load in {browser}: {proc.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))


@pytest.fixture(scope="module")
def quick_page():
    report = run_report(seed=0, quick=True, progress=False)
    return to_html(report), sum(len(r.figures) for r in report.results)


def test_the_report_renders_in_a_browser_at_1280px(quick_page, tmp_path):
    page, n_figures = quick_page
    result = _measure(page, tmp_path)
    assert result["viewport"] == WIDTH
    assert result["images"] == n_figures > 0
    assert result["broken"] == [] and result["hidden"] == []
    assert result["scrollWidth"] <= result["clientWidth"], result["wide"]
    assert result["wide"] == []


def test_the_probe_sees_a_broken_image_and_an_overflow(tmp_path):
    # The measurement can fail: a missing image and a 3000 px wide block are both caught.
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
            '<img alt="missing" src="data:image/png;base64,AAAA">'
            '<div style="width:3000px">wide</div></body></html>')
    result = _measure(page, tmp_path)
    assert result["broken"] == ["missing"] and result["hidden"] == ["missing"]
    assert result["scrollWidth"] > result["clientWidth"]


def test_the_committed_report_renders_in_a_browser(tmp_path):
    committed = os.path.join(os.path.dirname(__file__), "..", "reports", "verification.html")
    if not os.path.exists(committed):
        pytest.skip("no committed report in this checkout")
    with open(committed, encoding="utf-8") as f:
        page = f.read()
    result = _measure(page, tmp_path)
    assert result["images"] == page.count("<img ") > 0
    assert result["broken"] == [] and result["hidden"] == []
    assert result["scrollWidth"] <= result["clientWidth"], result["wide"]
