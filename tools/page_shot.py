"""The phone page at phone size, as a picture for the README:

    python -m tools.page_shot docs/page.png

A laptop tool. It serves the page for a simulated clock (sim/web.py: the
board's own page and request handling), opens it in a headless Chromium
390 px wide (Debian's `chromium` and `chromium-driver`, driven by
selenium), waits until the page shows the clock's status, and saves it.
"""

import argparse
import sys
import time

WIDTH = 390  # CSS px: a common phone
AT_MS = 1780309062000  # 2026-06-01 10:17:42Z: 12:17 in Berlin, a summer noon
PASSWORD = "page-shot-only"


def browser(width=WIDTH, height=844):
    """A headless Chromium at phone size, or RuntimeError saying what to install."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise RuntimeError("selenium is not installed: pip install selenium (make test installs it)") from None
    import shutil

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=%d,%d" % (width, height)):
        options.add_argument(arg)
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        raise RuntimeError("no Chromium here: apt-get install chromium chromium-driver")
    options.binary_location = binary
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_window_size(width, height)
    return driver


def log_in(driver, password):
    """HTTP Basic authentication for every request the page makes, as a
    browser sends it once the user typed the password into its prompt."""
    import base64

    token = base64.b64encode(("clock:" + password).encode()).decode()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Basic " + token}})


def wait_for(driver, script, timeout_s=20):
    """Until the JavaScript expression `script` is true in the page."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if driver.execute_script("return " + script):
            return
        time.sleep(0.1)
    raise RuntimeError("the page never showed: %s" % script)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.page_shot", description="Save the phone page, at phone size, as a PNG.")
    parser.add_argument("out", help="the PNG to write, e.g. docs/page.png")
    args = parser.parse_args(argv)
    from sim.preview import Clock, Preview
    from sim.web import PageServer

    preview = Preview(Clock(start_ms=AT_MS), tz="CET-1CEST,M3.5.0,M10.5.0/3", mode="vetinari")
    server = PageServer(preview, 0, PASSWORD).start()
    server.clock.zone_name = "Europe/Berlin"
    try:
        driver = browser()
    except RuntimeError as e:
        server.stop()
        print("page_shot: %s" % e, file=sys.stderr)
        return 1
    try:
        log_in(driver, PASSWORD)
        driver.get("http://127.0.0.1:%d/" % server.port)
        wait_for(driver, "document.getElementById('sync').textContent.startsWith('synced')")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": True})
        time.sleep(0.3)
        driver.save_screenshot(args.out)
    finally:
        driver.quit()
        server.stop()
    print("page_shot: wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
