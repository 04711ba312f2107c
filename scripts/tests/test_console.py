"""The search console at `/`, driven in headless Chromium (Selenium) against a real `nestor serve`:
create a collection, ingest two files through the file input and a dropped .jsonl in two batches,
search in German, a matching and a bad filter,
the embeddings playground, the server panel, a narrow window, and the API-key form.
Screenshots go to .build/console-screenshots/; NESTOR_CONSOLE_DOCS_SCREENSHOT=1 also refreshes
docs/console.png (1200×800) for the README."""
import json
import os
import shutil
import time
import urllib.request

import pytest

from conftest import ROOT, Server

SHOTS = os.path.join(ROOT, ".build", "console-screenshots")
CP_TEXT = ("To copy a file on Linux, run cp SOURCE DEST. cp -r copies a whole directory, "
           "and cp -i asks before it overwrites a file that already exists.")
BREAD_TEXT = ("To bake bread, mix flour, water, salt and yeast, knead the dough for ten minutes, "
              "let it rise for an hour and bake it at 230 °C until the crust is brown.")
BAD_FILTER = {"year": {"$foo": 1}}


def _chrome():
    """A headless Chromium driver, or a skip when Selenium, Chromium or chromedriver is missing."""
    try:
        from selenium import webdriver
    except ImportError:
        pytest.skip("selenium is not installed (scripts/install-deps.sh --test)")
    binary = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("chromium and chromium-driver are not installed (scripts/install-deps.sh --test)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--no-first-run", "--window-size=1200,800", "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager would otherwise try to download one.
    d = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    viewport(d, 1200, 800)
    return d


def viewport(d, width, height):
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def shot(d, name, full=False):
    """A screenshot of the viewport, or of the whole page with full=True."""
    import base64
    os.makedirs(SHOTS, exist_ok=True)
    params = {"format": "png"}
    if full:
        size = d.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1})
    data = base64.b64decode(d.execute_cdp_cmd("Page.captureScreenshot", params)["data"])
    path = os.path.join(SHOTS, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def wait(d, what, timeout=20):
    """Polls `what` until it is truthy; the page re-renders lists, so a stale element means "again"."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(d, timeout, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(lambda _: what())


def css(d, selector):
    from selenium.webdriver.common.by import By
    return d.find_element(By.CSS_SELECTOR, selector)


def css_all(d, selector):
    from selenium.webdriver.common.by import By
    return d.find_elements(By.CSS_SELECTOR, selector)


def tab(d, name):
    css(d, f"#tab-{name}").click()
    wait(d, lambda: css(d, f"#panel-{name}").is_displayed())
    if name == "collections":  # opening the tab reloads the list
        wait(d, lambda: css(d, "#collections-table").get_attribute("aria-busy") is None)


def csp_violations(d):
    return [e["message"] for e in d.get_log("browser") if "Content Security Policy" in e["message"]]


@pytest.fixture(scope="module")
def console_server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    d = _chrome()
    yield d
    d.quit()


def test_console_is_served_with_a_strict_policy(console_server):
    for path, kind in (("/", "text/html"), ("/console/console.css", "text/css"), ("/console/console.js", "javascript")):
        try:
            with urllib.request.urlopen(console_server.url + path, timeout=10) as r:
                headers, body = r.headers, r.read()
        except urllib.error.HTTPError as e:
            pytest.fail(f"GET {path} answered {e.code}: this nestor binary does not serve the console")
        assert kind in headers["Content-Type"], (path, headers["Content-Type"])
        policy = headers["Content-Security-Policy"] or ""
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy
        assert headers["Cache-Control"], path
        assert body
    # The page loads nothing from elsewhere and runs no inline script or style.
    with urllib.request.urlopen(console_server.url + "/", timeout=10) as r:
        html = r.read().decode()
    assert "http://" not in html and "https://" not in html
    assert "<script>" not in html and " style=" not in html and "<style" not in html


def test_console_collection_ingest_search(console_server, browser, tmp_path):
    d = browser
    started = time.time()
    d.get(console_server.url + "/")
    wait(d, lambda: "up" in css(d, "#status").get_attribute("class"))

    # Collections: create one.
    tab(d, "collections")
    css(d, "#create-name").send_keys("console-docs")
    css(d, "#create-form button[type=submit]").click()
    wait(d, lambda: css_all(d, '#collections-table tr[data-name="console-docs"]'))
    assert "Created console-docs" in css(d, "#collections-msg").text
    # Again with the same settings: creation is idempotent (200), and the page says so.
    css(d, "#create-name").send_keys("console-docs")
    css(d, "#create-form button[type=submit]").click()
    wait(d, lambda: "already exists with these settings" in css(d, "#collections-msg").text)
    # Again with other settings: the API's 409, as it words it.
    status, body = console_server.post("/collections", {"name": "console-docs", "coarse_dimensions": 64})
    assert status == 409, (status, body)
    css(d, "#create-name").send_keys("console-docs")
    css(d, "#create-coarse").send_keys("64")
    css(d, "#create-form button[type=submit]").click()
    wait(d, lambda: css(d, "#collections-error").is_displayed())
    assert css(d, "#collections-error .message").text == body["error"]["message"]
    assert css(d, "#collections-error .status-code").text.strip() == "409:"
    css(d, "#create-name").clear()
    css(d, "#create-coarse").clear()

    # Ingest two .txt files through the file input.
    (tmp_path / "cp.txt").write_text(CP_TEXT)
    (tmp_path / "bread.txt").write_text(BREAD_TEXT)
    tab(d, "ingest")
    assert css(d, "#ingest-collection").get_attribute("value") == "console-docs"
    css(d, "#ingest-files").send_keys(f"{tmp_path / 'cp.txt'}\n{tmp_path / 'bread.txt'}")
    wait(d, lambda: len(css_all(d, "#ingest-files-list li")) == 2)
    css(d, "#ingest-submit").click()
    wait(d, lambda: "Ingested 2 documents" in css(d, "#ingest-log").text, timeout=30)
    assert css(d, "#ingest-progress").get_attribute("value") == "2"
    assert css(d, "#ingest-count").text == "2 / 2 documents"
    shot(d, "ingest.png")

    # Search in German: the cp file first.
    tab(d, "search")
    # Hybrid, the server's default for text, is preselected once the OpenAPI document lists it; dense is picked here.
    wait(d, lambda: css(d, "#search-mode").get_attribute("value") == "hybrid")
    d.execute_script("const s = document.querySelector('#search-mode'); s.value = 'dense'; s.dispatchEvent(new Event('change'));")
    css(d, "#search-query").send_keys("Wie kopiere ich eine Datei?")
    css(d, "#search-topk").clear()
    css(d, "#search-topk").send_keys("5")
    css(d, "#search-submit").click()
    wait(d, lambda: len(css_all(d, "#search-results .hit")) == 2)
    ids = [e.text for e in css_all(d, "#search-results .hit .doc")]
    assert ids == ["cp.txt", "bread.txt"], ids
    scores = [float(e.text) for e in css_all(d, "#search-results .hit .score b")]
    assert scores[0] > scores[1] > 0, scores
    assert css(d, "#search-results .hit .text").text == CP_TEXT
    meta = {e.get_attribute("data-key"): e.find_element("css selector", "b").text for e in css_all(d, "#search-meta .fact")}
    assert meta["hits"] == "2" and meta["path"] in ("two_stage", "graph", "exact", "filtered_exact"), meta
    for k in ("embed_ms", "coarse_ms", "rerank_ms", "fetch_ms"):
        assert meta[k].endswith(" ms"), meta
    shot(d, "search.png")
    if os.environ.get("NESTOR_CONSOLE_DOCS_SCREENSHOT") == "1":
        os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
        shutil.copyfile(os.path.join(SHOTS, "search.png"), os.path.join(ROOT, "docs", "console.png"))

    # A .jsonl dropped on the drop zone (a synthetic drop event): 40 documents, two batches of 32 + 8.
    lines = [{"id": f"note-{i}", "text": f"Note {i}: a short remark about the weather on day {i}.", "metadata": {"lang": "en", "day": i}}
             for i in range(39)]
    lines.append({"id": "brot", "text": "Brot backt man aus Mehl, Wasser, Salz und Hefe.", "metadata": {"lang": "de", "topic": "Brot"}})
    tab(d, "ingest")
    d.execute_script("""
        const dt = new DataTransfer();
        dt.items.add(new File([arguments[0]], 'notes.jsonl', {type: 'application/jsonl'}));
        document.querySelector('#drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    """, "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    wait(d, lambda: "notes.jsonl" in css(d, "#ingest-files-list").text)
    css(d, "#ingest-submit").click()
    wait(d, lambda: "Ingested 40 documents" in css(d, "#ingest-log").text, timeout=40)
    log = [e.text for e in css_all(d, "#ingest-log li")]
    assert log[0].startswith("documents 1–32:") and log[1].startswith("documents 33–40:"), log
    assert css(d, "#ingest-count").text == "40 / 40 documents"

    # A filter that matches: the German document alone, with its metadata.
    tab(d, "search")
    css(d, "#search-filter").send_keys('{"lang": "de"}')
    css(d, "#search-submit").click()
    wait(d, lambda: [e.text for e in css_all(d, "#search-results .hit .doc")] == ["brot"])
    assert json.loads(css(d, "#search-results .hit .md code").text) == {"lang": "de", "topic": "Brot"}
    css(d, "#search-filter").clear()

    # An English query highlights its words in the text.
    css(d, "#search-query").clear()
    css(d, "#search-query").send_keys("copy a directory")
    css(d, "#search-submit").click()
    wait(d, lambda: css_all(d, "#search-results .hit mark"))
    marks = {e.text.lower() for e in css_all(d, "#search-results .hit mark")}
    assert {"copy", "directory"} <= marks, marks

    # A filter that is not JSON: the page says so and sends nothing.
    area = css(d, "#search-filter")
    area.send_keys('{"lang": ')
    wait(d, lambda: "Not valid JSON" in css(d, "#search-filter-msg").text)
    assert area.get_attribute("aria-invalid") == "true"
    # A filter the server refuses: its 400 message, verbatim.
    status, body = console_server.post("/search", {"collection": "console-docs", "query": "x", "filter": BAD_FILTER})
    assert status == 400
    area.clear()
    area.send_keys(json.dumps(BAD_FILTER))
    wait(d, lambda: css(d, "#search-filter-msg").text == "")
    css(d, "#search-submit").click()
    wait(d, lambda: css(d, "#search-error").is_displayed())
    assert css(d, "#search-error .message").text == body["error"]["message"]
    assert css(d, "#search-error .status-code").text.strip() == "400:"
    assert not css_all(d, "#search-results .hit")
    shot(d, "search-bad-filter.png")
    area.clear()

    # Embeddings playground: a 4×4 heat map, and the tokeniser (or a note while /tokenize is absent).
    tab(d, "embeddings")
    css(d, "#embed-form button[type=submit]").click()
    wait(d, lambda: len(css_all(d, "#embed-heat tbody td")) == 16)
    cells = [float(e.text) for e in css_all(d, "#embed-heat tbody td")]
    assert all(abs(cells[i * 5] - 1) < 1e-3 for i in range(4)), cells
    assert cells[1] > cells[3], cells  # the English and German copy questions are closer than copy vs bread
    css(d, "#tok-form button[type=submit]").click()
    wait(d, lambda: css_all(d, "#tok-pieces li"))
    pieces = [e.text for e in css_all(d, "#tok-pieces .piece")]
    assert "▁kopiere" in pieces and pieces[0] == "<s>", pieces
    assert css(d, "#tok-meta").text == f"{len(pieces)} tokens of at most 512"
    shot(d, "embeddings.png", full=True)

    # Server panel: model and request counts from /metrics.
    tab(d, "server")
    wait(d, lambda: css_all(d, '#server-model [data-key="model"] dd') and css_all(d, "#server-routes tbody tr"))
    assert css(d, '#server-model [data-key="model"] dd').text == "multilingual-e5-small"
    wait(d, lambda: "/search" in {r.find_element("css selector", "th").text for r in css_all(d, "#server-routes tbody tr")})
    assert int(css(d, '#server-totals [data-key="requests"] dd').text.replace(",", "")) > 5
    assert int(css(d, '#server-totals [data-key="4xx"] dd').text.replace(",", "")) >= 2  # the 409 and the 400s
    shot(d, "server.png", full=True)

    # Keyboard: the tabs are a tablist with arrow keys.
    from selenium.webdriver.common.keys import Keys
    css(d, "#tab-server").send_keys(Keys.HOME)
    wait(d, lambda: css(d, "#tab-search").get_attribute("aria-selected") == "true")
    assert d.switch_to.active_element == css(d, "#tab-search")
    css(d, "#tab-search").send_keys(Keys.ARROW_RIGHT)
    wait(d, lambda: css(d, "#panel-collections").is_displayed())

    # A narrow window: nothing sticks out sideways.
    viewport(d, 390, 844)
    tab(d, "search")
    css(d, "#search-submit").click()
    wait(d, lambda: len(css_all(d, "#search-results .hit")) == 5)
    assert css(d, "#search-results .hit .doc").text == "cp.txt"
    overflow = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    shot(d, "search-narrow.png")
    viewport(d, 1200, 800)

    # Delete, after the confirmation dialog.
    tab(d, "collections")
    css(d, '#collections-table tr[data-name="console-docs"] button').click()
    wait(d, lambda: css(d, "#confirm-dialog").get_attribute("open") is not None)
    assert "console-docs" in css(d, "#confirm-text").text
    shot(d, "delete-confirm.png")
    css(d, "#confirm-delete").click()
    wait(d, lambda: not css_all(d, '#collections-table tr[data-name="console-docs"]'))
    assert "Deleted console-docs" in css(d, "#collections-msg").text

    assert not csp_violations(d)
    assert time.time() - started < 60


def test_console_asks_for_the_api_key(browser):
    s = Server("--api-key", "console-secret")
    try:
        d = browser
        d.get(s.url + "/")
        wait(d, lambda: css(d, "#key-dialog").get_attribute("open") is not None)
        assert "API key" in css(d, "#key-reason").text
        css(d, "#key-input").send_keys("wrong")
        css(d, "#key-submit").click()
        wait(d, lambda: "refused this key" in css(d, "#key-reason").text and css(d, "#key-dialog").get_attribute("open") is not None)
        shot(d, "api-key.png")
        css(d, "#key-input").send_keys("console-secret")
        css(d, "#key-submit").click()
        wait(d, lambda: css(d, "#key-dialog").get_attribute("open") is None)
        wait(d, lambda: "up" in css(d, "#status").get_attribute("class"))
        tab(d, "collections")
        wait(d, lambda: css(d, "#collections-empty").is_displayed())
        assert not css(d, "#collections-error").is_displayed()
        assert d.execute_script("return sessionStorage.getItem('nestor.apiKey')") == "console-secret"
        assert d.execute_script("return localStorage.length") == 0
        assert css(d, "#forget-key").is_displayed()
        assert not csp_violations(d)
    finally:
        s.stop()
