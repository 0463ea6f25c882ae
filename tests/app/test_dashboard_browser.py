"""The dashboard in a real browser (Debian's chromium, headless) against a real `flokk serve`.

Central IT signs in with the one-time password from `flokk init`, is made to
choose a new one, adds a school and its ICT contact and locks the camera in the
baseline policy; the ICT contact signs in, creates a class, moves an iPad into
it, sends a command, asks for an erase, creates an enrollment link, previews
and saves the school's passcode length, is refused the locked camera and sets
a longer one for the class; a central admin approves the erase; the audit log
shows it all.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import ssl

import pytest
from sqlalchemy import select

from app.models import Command, School
from tests.app.test_serve import free_port
from tests.support import factories

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NEW_ADMIN_PASSWORD = "central IT pass phrase 1"
NEW_ICT_PASSWORD = "kari's own pass phrase"


@pytest.fixture
def served(backend, environment, db, tmp_path):
    if backend != "sqlite":
        pytest.skip("the browser walk-through runs once (SQLite); every rule it touches is tested on both databases")
    env = {**os.environ, **environment}
    init = subprocess.run([sys.executable, "-m", "app.cli", "init", "--admin-email", "it@bergvik.no", "--organisation", "Bergvik kommune"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    password = re.search(r"One-time password:\s+(\S+)", init.stdout).group(1)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    context = ssl._create_unverified_context()
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", context=context, timeout=5):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.terminate()
                raise
            time.sleep(0.3)
    yield url, password
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is needed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--headless=new"])
        yield launched
        launched.close()


def new_page(browser, locale="en-GB"):
    return browser.new_context(ignore_https_errors=True, locale=locale).new_page()


def sign_in(page, url, email, password):
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")


def choose_password(page, old, new):
    assert page.url.endswith("/password")
    page.fill("input[name=current_password]", old)
    page.fill("input[name=new_password]", new)
    page.fill("input[name=repeat_password]", new)
    page.click("form[action='/password'] button[type=submit]")


def flash(page) -> str:
    return page.inner_text("p.flash")


def test_an_ict_contact_and_central_it_click_through_the_dashboard(served, browser, db, tmp_path):
    url, one_time = served
    with db.session() as session:
        sorby = factories.school(session, "sorby", "Sørby skole")
        factories.device(session, sorby).serial_number = "SORBY-0001"
        session.commit()

    # Central IT: first sign-in must replace the one-time password.
    admin = new_page(browser)
    sign_in(admin, url, "it@bergvik.no", one_time)
    choose_password(admin, one_time, NEW_ADMIN_PASSWORD)
    assert "Your password is changed." in flash(admin)
    admin.fill("input[name=name]", "Nordby skole")
    admin.fill("input[name=code]", "nordby")
    admin.click("form[action='/schools'] button[type=submit]")
    assert "School Nordby skole added." in flash(admin)
    with db.session() as session:
        nordby = session.scalar(select(School).where(School.code == "nordby"))
        ipad = factories.device(session, nordby)
        ipad.name, ipad.serial_number = "Cart 1 iPad 3", "NORDBY-0003"
        session.commit()
        ipad_id = ipad.id
    admin.click("nav >> text=Admins")
    admin.fill("form[action='/admins'] input[name=email]", "kari@nordby.no")
    admin.select_option("form[action='/admins'] select[name=role]", "school_ict")
    admin.select_option("form[action='/admins'] select[name=school]", "nordby")
    admin.click("form[action='/admins'] button[type=submit]")
    kari_one_time = admin.inner_text("#secret").strip()
    admin.click("nav >> text=Policy")
    admin.fill("form.policy-change input[name=payload]", "restrictions")
    admin.fill("form.policy-change input[name=key]", "allowCamera")
    admin.fill("form.policy-change input[name=value]", "false")
    admin.check("form.policy-change input[name=lock]")
    admin.click("form.policy-change button[value=save]")
    assert "Saved as version 1" in flash(admin)
    assert "Locked in baseline by admin:it@bergvik.no" in admin.inner_text("table.policy")
    admin.click("form[action='/logout'] button")
    assert "/login" in admin.url

    # The ICT contact of Nordby, in Norwegian.
    kari = new_page(browser, locale="nb-NO")
    sign_in(kari, url, "kari@nordby.no", kari_one_time)
    kari.goto(f"{url}/devices")  # must choose a password first
    choose_password(kari, kari_one_time, NEW_ICT_PASSWORD)
    assert "Passordet ditt er endret." in flash(kari)
    assert "Nordby skole" in kari.inner_text("main") and "Sørby" not in kari.inner_text("main")
    kari.click("nav >> text=Grupper")
    kari.fill("form[action='/groups'] input[name=name]", "7A")
    kari.click("form[action='/groups'] button[type=submit]")
    assert "Gruppen 7A er opprettet." in flash(kari)
    kari.click("nav >> text=Enheter")
    assert "NORDBY-0003" in kari.inner_text("table.devices") and "SORBY-0001" not in kari.content()
    kari.click("text=Cart 1 iPad 3")
    kari.select_option("select[name=group_id]", label="7A")
    kari.click(f"form[action='/devices/{ipad_id}/group'] button")
    assert "Enheten er flyttet." in flash(kari)
    kari.select_option("select[name=request_type]", "ProfileList")
    kari.click(f"form[action='/devices/{ipad_id}/commands'] button")
    assert "«Oppdater listen over profiler» er lagt i kø for 1 enhet(er)." in flash(kari)
    erase = kari.locator("details.confirm", has_text="Slett alt innhold")
    erase.locator("summary").click()  # the erase asks first, with a reason
    erase.locator("input[name=reason]").fill("Stolen from the classroom")
    erase.locator("button", has_text="Ja, be om det").click()
    assert "må godkjennes av en sentral administrator" in flash(kari)
    assert "Oppdater listen over profiler" in kari.inner_text("table.commands") and "Slett alt innhold" not in kari.inner_text("table.commands")
    kari.click("nav >> text=Innrullering")
    kari.fill("form[action='/enrollment-tokens'] input[name=label]", "Vogn 1")
    kari.fill("form[action='/enrollment-tokens'] input[name=expires]", "30d")
    kari.click("form[action='/enrollment-tokens'] button[type=submit]")
    assert "/enroll/" in kari.inner_text("#enrollment-url")
    kari.click("text=Tilbake til innrulleringslenkene")
    assert "Vogn 1" in kari.inner_text("main")
    # The school's policy: the camera is locked by central IT, the passcode length is the school's to set.
    kari.click("nav >> text=Skoler")
    kari.click("main >> a:has-text(\"Nordby skole\")")
    kari.click("text=Skolens regelverk")
    camera = kari.locator("table.policy tr", has_text="allowCamera").inner_text()
    assert "Låst i baseline av admin:it@bergvik.no" in camera
    kari.fill("form.policy-change input[name=payload]", "passcode")
    kari.fill("form.policy-change input[name=key]", "minLength")
    kari.fill("form.policy-change input[name=value]", "8")
    kari.click("form.policy-change button[value=preview]")
    preview = kari.inner_text("section.preview")
    assert "Forhåndsvisning (ingenting er lagret)" in preview and "minLength = 8" in preview
    assert "nordby" in kari.inner_text("table.preview") and "installere" in kari.inner_text("table.preview")
    kari.click("form.policy-change button[value=save]")
    assert "Lagret som versjon 1" in flash(kari)
    assert "8" in kari.locator("table.policy tr", has_text="minLength").inner_text()
    kari.fill("form.policy-change input[name=payload]", "restrictions")
    kari.fill("form.policy-change input[name=key]", "allowCamera")
    kari.fill("form.policy-change input[name=value]", "true")
    kari.click("form.policy-change button[value=save]")
    refusal = kari.inner_text("section.refusal")
    assert "allowCamera" in refusal and "is locked in baseline by admin:it@bergvik.no" in refusal
    # Class 7A gets a longer passcode than the rest of the school.
    kari.click("nav >> text=Grupper")
    kari.locator("table tr", has_text="7A").locator("a", has_text="Regelverk").click()
    for name, value in (("payload", "passcode"), ("key", "minLength"), ("value", "10")):
        kari.fill(f"form.policy-change input[name={name}]", value)
    kari.click("form.policy-change button[value=save]")
    assert "Lagret som versjon 1" in flash(kari)
    assert "group:nordby/7A" in kari.locator("table.policy tr", has_text="minLength").inner_text()
    kari.goto(f"{url}/enrollment-tokens")
    kari.click("header button[value=en]")
    assert "/enrollment-tokens" in kari.url and "New enrollment link" in kari.inner_text("main")
    kari.goto(f"{url}/audit")
    assert "Not allowed" in kari.inner_text("main")
    kari.screenshot(path=str(tmp_path / "ict.png"))
    every_page_fits_a_phone_and_a_laptop(kari, url, ipad_id, tmp_path)

    # Central IT approves the erase.
    approver = new_page(browser)
    sign_in(approver, url, "it@bergvik.no", NEW_ADMIN_PASSWORD)
    approver.click("nav >> text=Approvals")
    card = approver.locator("section.approval", has_text="Erase all content")
    assert "Stolen from the classroom" in card.inner_text() and "kari@nordby.no" in card.inner_text()
    assert "Cart 1 iPad 3" in card.inner_text() and "NORDBY-0003" in card.inner_text()
    approve = card.locator("details.confirm", has_text="Approve")
    approve.locator("summary").click()  # asks first
    approve.locator("input[name=note]").fill("Confirmed with Kari by phone")
    approve.locator("button", has_text="Yes, approve").click()
    assert "Approved: 1 command(s) queued." in flash(approver)
    with db.session() as session:
        sent = session.scalars(select(Command.request_type).where(Command.device_id == ipad_id))
        assert sorted(kind for kind in sent if kind != "InstallProfile") == ["EraseDevice", "ProfileList"]
    approver.click("nav >> text=Audit log")
    approver.select_option("select[name=school]", "nordby")
    approver.click("form[action='/audit'] button[type=submit]")
    trail = approver.inner_text("table.audit")
    for action in ("approval.approve", "approval.request", "command.queue", "device.move", "group.create", "enrollment_token.create",
                   "policy.change"):
        assert action in trail, action
    export = approver.get_attribute("text=Export CSV", "href")
    assert export.startswith("/audit/export.csv?") and "school=nordby" in export
    approver.screenshot(path=str(tmp_path / "audit.png"), full_page=True)


def header_fits(page) -> bool:
    """The header needs no horizontal scrolling: nothing in it reaches past the window's right edge."""
    return page.evaluate("""() => {
        const header = document.querySelector('header');
        const right = Math.max(...[...header.querySelectorAll('*')].filter(e => e.offsetParent !== null)
                                .map(e => e.getBoundingClientRect().right));
        return header.scrollWidth <= window.innerWidth && right <= window.innerWidth + 0.5;
    }""")


def every_page_fits_a_phone_and_a_laptop(page, url, ipad_id, folder):
    """390 px (a phone in a classroom) and 1280 px: the header never scrolls sideways, the menu opens from a
    button on the phone, the current page is marked, the active language shown, a skip link leads to the content."""
    pages = ["/", "/devices", f"/devices/{ipad_id}", "/groups", "/enrollment-tokens", "/approvals", "/commands",
             "/schools/nordby/policy", "/schools/nordby/starter-pack"]
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 844})
        for path in pages:
            page.goto(f"{url}{path}")
            assert header_fits(page), f"{path} at {width} px"
            page.screenshot(path=str(folder / f"{width}{path.replace('/', '_') or '_'}.png"))
    page.goto(f"{url}/devices")
    assert page.get_attribute("header nav a[aria-current=page]", "href") == "/devices"
    assert page.get_attribute("header button[aria-pressed=true]", "value") == "en"
    page.keyboard.press("Tab")  # the first stop on a page is the skip link
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.evaluate("document.activeElement.blur()")
    page.set_viewport_size({"width": 390, "height": 844})
    assert not page.is_visible("header nav")  # folded away behind the menu button
    page.click("label.menu-button")
    assert page.is_visible("header nav a[aria-current=page]")
