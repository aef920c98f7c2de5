"""Drives Debian's chromium (through chromium-driver, with selenium) for sessiond's console
browser tests. The Rust test owns the fixtures and the assertions; this program only does
what an operator would do in the browser and reports what the page showed.

Protocol: one JSON command per stdin line, `{"cmd": NAME, ...}`; one answer per command on
stdout: `OK <json>` or `ERR <message>`. The first line printed is `READY`.

Every browser resolves no host name but 127.0.0.1 (`--host-resolver-rules`), so a page that
needs another origin fails visibly, and the performance log records every request the page
made, so the test can check that none went to another origin.
"""

import json
import os
import sys
import time
import traceback
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE = sys.argv[1]
SHOTS = sys.argv[2]
WAIT = 60

state = {"driver": None, "requests": []}


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def driver():
    d = state["driver"]
    if d is None:
        raise RuntimeError("no browser: send new_browser first")
    return d


def collect_log():
    """Moves the performance log's requests into state['requests'] (url, document url)."""
    d = state["driver"]
    if d is None:
        return
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            p = msg["params"]
            state["requests"].append(p["request"]["url"])
        elif msg.get("method") == "Network.responseReceived":
            p = msg["params"]
            r = p["response"]
            if p.get("type") == "Document":
                state.setdefault("documents", []).append(
                    {"url": r["url"], "status": r["status"],
                     "headers": {k.lower(): v for k, v in r.get("headers", {}).items()}})


def new_browser(width=1280, height=900):
    quit_browser()
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--ignore-certificate-errors", f"--window-size={width},{height}",
              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
              "--disable-background-networking", "--disable-component-update",
              "--disable-default-apps", "--disable-sync", "--no-first-run",
              "--disable-features=Translate,OptimizationHints,MediaRouter"]:
        o.add_argument(a)
    o.accept_insecure_certs = True
    o.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    state["driver"] = webdriver.Chrome(options=o, service=Service("/usr/bin/chromedriver"))
    state["driver"].set_page_load_timeout(WAIT)
    return {}


def quit_browser():
    d = state["driver"]
    if d is not None:
        collect_log()
        d.quit()
        state["driver"] = None


def wait_for(cond, timeout=WAIT):
    return WebDriverWait(driver(), timeout, poll_frequency=0.05).until(cond)


def ready():
    """Waits until the document has loaded and htmx has nothing in flight."""
    wait_for(lambda d: d.execute_script(
        "return document.readyState === 'complete' && "
        "document.querySelectorAll('.htmx-request').length === 0"))


def page_info():
    d = driver()
    h1 = d.find_elements(By.CSS_SELECTOR, "h1")
    errors = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".error") if e.text]
    return {"url": d.current_url, "title": d.title, "h1": h1[0].text if h1 else "",
            "errors": errors}


def row_ids():
    d = driver()
    return [r.get_attribute("data-id")
            for r in d.find_elements(By.CSS_SELECTOR, "#sessions-table tbody tr")]


def goto(path):
    driver().get(BASE + path)
    ready()
    return page_info()


def login(user, password, expect_ok=True):
    d = driver()
    d.get(BASE + "/console/login")
    ready()
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    if expect_ok:
        wait_for(lambda d: "/console/login" not in d.current_url)
    ready()
    return page_info()


def rows(path):
    info = goto(path)
    info["ids"] = row_ids()
    info["next"] = len(driver().find_elements(By.CSS_SELECTOR, "a[rel=next]")) > 0
    return info


def filter_form(fields):
    """Fills the sessions page's filter form as a person would (by its labels' ids) and
    submits it with the keyboard."""
    d = driver()
    goto("/console/sessions")
    last = None
    for name, value in fields.items():
        el = d.find_element(By.CSS_SELECTOR, f"form.filters [name={name}]")
        if el.tag_name == "select":
            el.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
        else:
            el.clear()
            el.send_keys(value)
        last = el
    old = d.current_url
    if last is not None and last.tag_name != "select":
        last.send_keys("\n")
    else:
        d.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait_for(lambda d: d.current_url != old)
    ready()
    info = page_info()
    info["ids"] = row_ids()
    return info


def terminate_selected(ids, reason):
    d = driver()
    for i in ids:
        box = d.find_element(By.CSS_SELECTOR, f"#sessions-table input[name=id][value='{i}']")
        if not box.is_selected():
            box.click()
    r = d.find_element(By.ID, "reason")
    r.clear()
    r.send_keys(reason)
    d.find_element(By.ID, "terminate-selected").click()
    wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "#results .results, #results .error"))
    ready()
    items = [{"id": tr.get_attribute("data-id"), "result": tr.find_elements(By.TAG_NAME, "td")[1].text}
             for tr in d.find_elements(By.CSS_SELECTOR, "#results .results tbody tr")]
    errors = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#results .error")]
    return {"items": items, "errors": errors}


def terminate_matching(path, reason, shot=None):
    d = driver()
    goto(path)
    r = d.find_element(By.ID, "reason")
    r.clear()
    r.send_keys(reason)
    d.find_element(By.ID, "terminate-matching").click()
    wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "#preview-count, #results .error, #results .preview"))
    ready()
    errors = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#results .error")]
    if errors:
        return {"errors": errors}
    count = int(d.find_element(By.ID, "preview-count").text)
    sample = len(d.find_elements(By.CSS_SELECTOR, "#results .preview tbody tr"))
    if shot:
        screenshot(shot + "-preview")
    d.find_element(By.ID, "confirm-terminate").click()
    seen = []
    deadline = time.time() + 300
    while time.time() < deadline:
        done = d.find_elements(By.ID, "progress-done")
        if done:
            try:
                seen.append(int(done[0].text))
            except Exception:
                pass
        if d.find_elements(By.ID, "progress-finished"):
            break
        time.sleep(0.05)
    else:
        raise TimeoutException("terminate all matching did not finish")
    if shot:
        screenshot(shot + "-done")
    final = int(d.find_element(By.ID, "progress-done").text)
    return {"count": count, "sample": sample, "done": final, "progress_seen": sorted(set(seen))}


def wait_row(id, present=True, timeout=30):
    """Waits, without navigating, until the live table shows (or no longer shows) a row:
    the page follows the event stream."""
    sel = f"#sessions-table tbody tr[data-id='{id}']"
    wait_for(lambda d: (len(d.find_elements(By.CSS_SELECTOR, sel)) > 0) == present, timeout)
    return {"url": driver().current_url, "live": driver().find_element(By.TAG_NAME, "body").get_attribute("data-live")}


def has(css):
    return {"count": len(driver().find_elements(By.CSS_SELECTOR, css))}


def forge_post(path, body, csrf=True):
    """A POST made by script from the signed-in page, as an attacker with the victim's
    (here: the viewer's own) cookie would: with or without the page's CSRF token."""
    js = """
const [path, body, withCsrf, done] = arguments;
const m = (document.body.getAttribute('hx-headers') || '').match(/"x-csrf-token":"([0-9a-f]+)"/);
const headers = {'content-type': 'application/x-www-form-urlencoded'};
if (withCsrf && m) headers['x-csrf-token'] = m[1];
fetch(path, {method: 'POST', headers, body, credentials: 'same-origin', redirect: 'manual'})
  .then(r => r.text().then(t => done({status: r.status, body: t})))
  .catch(e => done({status: -1, body: String(e)}));
"""
    return driver().execute_async_script(js, path, body, csrf)


def layout():
    """Whether the page fits the window (nothing but scroll containers wider than it), and
    every form control that has no accessible name."""
    return driver().execute_script("""
const over = document.documentElement.scrollWidth > window.innerWidth + 1;
const unlabelled = [];
document.querySelectorAll('input:not([type=hidden]), select, button, textarea').forEach(el => {
  const id = el.id;
  const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') ||
    (id && document.querySelector('label[for="' + id + '"]')) || el.closest('label') ||
    (el.tagName === 'BUTTON' && el.textContent.trim());
  if (!named) unlabelled.push(el.outerHTML.slice(0, 120));
});
const unfocusable = [];
document.querySelectorAll('a[href], input:not([type=hidden]), select, button').forEach(el => {
  if (el.tabIndex < 0) unfocusable.push(el.outerHTML.slice(0, 120));
});
return {overflow: over, width: window.innerWidth, scroll_width: document.documentElement.scrollWidth,
        unlabelled, unfocusable};
""")


def resize(width, height=900):
    driver().set_window_size(width, height)
    time.sleep(0.2)
    return {"width": driver().execute_script("return window.innerWidth")}


def screenshot(name):
    os.makedirs(SHOTS, exist_ok=True)
    path = os.path.join(SHOTS, name + ".png")
    driver().save_screenshot(path)
    return {"path": path}


def docs():
    """/api/docs with every other origin unresolvable: Scalar (vendored) must render the
    operations of the OpenAPI document."""
    d = driver()
    d.get(BASE + "/api/docs")
    wait_for(lambda d: "/api/v1/auth/login" in d.find_element(By.TAG_NAME, "body").text)
    body = d.find_element(By.TAG_NAME, "body").text
    return {"chars": len(body), "has_sessions": "sessions" in body,
            "has_login": "/api/v1/auth/login" in body}


def requests():
    """Every URL requested since the browser started, and the documents' answers."""
    collect_log()
    own = urlsplit(BASE)
    other = sorted({u for u in state["requests"]
                    if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                    and urlsplit(u).netloc != own.netloc})
    return {"count": len(state["requests"]), "other_origins": other,
            "documents": state.get("documents", [])}


def console_errors():
    """The browser console's messages (CSP violations show here)."""
    return {"messages": [e["message"] for e in driver().get_log("browser")]}


COMMANDS = {
    "new_browser": new_browser, "login": login, "goto": goto, "rows": rows,
    "filter_form": filter_form, "terminate_selected": terminate_selected,
    "terminate_matching": terminate_matching, "has": has, "wait_row": wait_row, "forge_post": forge_post,
    "layout": layout, "resize": resize, "screenshot": screenshot, "docs": docs,
    "requests": requests, "console_errors": console_errors, "quit": lambda: quit_browser() or {},
}


def main():
    say("READY")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            c = json.loads(line)
            name = c.pop("cmd")
            out = COMMANDS[name](**c)
            say("OK " + json.dumps(out))
        except Exception as e:  # reported to the Rust test, which fails with it
            say("ERR " + json.dumps(f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
    quit_browser()


if __name__ == "__main__":
    try:
        main()
    finally:
        quit_browser()
