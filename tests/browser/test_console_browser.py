"""The console in a real browser: sign in, make a list, import a CSV, create and arm a campaign, watch it
send to the loopback SMTP server with the progress updating, read the report, pause and resume, and see
that another account gets a 404. Screenshots of the main pages go to tmp/artifacts/console/."""
from __future__ import annotations

import email
import email.policy
import re

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from engine.delivery.relays import parse_relays
from engine.delivery.runner import DeliveryRunner
from engine.delivery.transport import SmtpPool
from scheduler.tick import tick
from tests.e2e.support import loopback_relay

pytestmark = pytest.mark.browser
PEOPLE = [f"person{i:02d}@{'example.com' if i % 3 else 'example.org'}" for i in range(30)]
WAIT = 20   # seconds a page may take to show what the test waits for (the page polls every 2 s)


def until(driver, condition, message: str = ""):
    """Wait for `condition(driver)` while a page loads or its script updates it (wall time, bounded)."""
    return WebDriverWait(driver, WAIT, poll_frequency=0.1,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                         ).until(condition, message)


def heading(driver) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def make_user(engine, username: str) -> None:
    with engine.uow() as uow:
        uow.accounts.create_user(username=username, password="browser-pass-1", email=f"{username}@example.com")
        uow.commit()


def sign_in(driver, live, username: str) -> None:
    driver.get(f"{live.url}/console/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys("browser-pass-1")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "form.logout"))


def button(driver, label: str):
    return driver.find_element(By.XPATH, f"//button[normalize-space()='{label}']")


def field(driver, name: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').text


def wait_for_field(driver, name: str, value: str) -> None:
    until(driver, lambda d: field(d, name) == value,
          f"progress field {name} never showed {value} (shows {field(driver, name)})")


def send_batches(live, transport, batches: int | None):
    """The delivery worker, stepped: `batches` batches of 10 (None: until nothing is left)."""
    runner = DeliveryRunner(live.engine, transport, worker_id="browser-test", batch_size=10, clock=live.clock)

    def after_batch(summary):
        if batches is not None and summary.batches >= batches:
            runner.stop()

    runner.progress = after_batch
    return runner.run_once(60)


def tracking_paths(message_bytes: bytes) -> tuple[str, str]:
    """The open pixel's and the first tracked link's paths in a received message."""
    html = email.message_from_bytes(message_bytes, policy=email.policy.default).get_body(("html",)).get_content()
    return re.search(r"/t/o/[\w-]+", html).group(0), re.search(r"/t/c/[\w-]+", html).group(0)


def test_a_campaign_from_list_to_report(browser, live, artifacts, tmp_path):
    driver = browser
    make_user(live.engine, "ada")
    make_user(live.engine, "eve")
    sign_in(driver, live, "ada")

    # A list, and a CSV imported into it with the progress bar shown.
    driver.get(f"{live.url}/console/lists")
    driver.find_element(By.ID, "new-list-name").send_keys("Friends")
    button(driver, "Create list").click()
    until(driver, lambda d: heading(d) == "Friends")
    driver.find_element(By.LINK_TEXT, "Import CSV").click()
    csv_file = tmp_path / "friends.csv"
    csv_file.write_text("Email\n" + "\n".join(PEOPLE) + "\nnot-an-address\n")
    driver.find_element(By.ID, "csv_file").send_keys(str(csv_file))
    button(driver, "Import").click()
    bar = until(driver, lambda d: d.find_element(By.ID, "import-progress"))
    assert bar.is_displayed()
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("31", "31")
    assert driver.find_element(By.CSS_SELECTOR, '[data-import="imported"]').text == "30"
    assert driver.find_element(By.CSS_SELECTOR, '[data-import="failed"]').text == "1"
    driver.save_screenshot(str(artifacts / "import.png"))

    # A campaign to that list, armed.
    driver.get(f"{live.url}/console/campaigns/new")
    driver.find_element(By.ID, "name").send_keys("Autumn news")
    Select(driver.find_element(By.ID, "list_id")).select_by_visible_text("Friends")
    driver.find_element(By.ID, "subject").send_keys("Autumn at the garden")
    driver.find_element(By.ID, "from_email").send_keys("news@sender.example")
    html = driver.find_element(By.ID, "html")
    html.clear()
    html.send_keys('<p>Hello</p><p><a href="https://example.com/bulbs">Bulbs</a></p>'
                   '<p><a href="%Link:Unsubscribe%">Unsubscribe</a></p>')
    driver.find_element(By.ID, "arm").click()
    button(driver, "Save campaign").click()
    until(driver, lambda d: heading(d) == "Autumn news")
    assert driver.find_element(By.ID, "campaign-status").text == "Ready"
    assert driver.find_element(By.ID, "audience-count").text == "30"
    campaign_url = driver.current_url
    driver.save_screenshot(str(artifacts / "campaign.png"))

    with loopback_relay(live.engine) as smtp:
        transport = SmtpPool(parse_relays(live.engine.settings.smtp_url))
        try:
            assert tick(live.engine, live.clock()).started == 1
            driver.get(campaign_url.replace("?", "") + "/report")
            assert field(driver, "status") == "Sending" and field(driver, "total") == "30"
            assert field(driver, "done") == "0"

            # Ten seconds after the start, one batch of ten goes out: the page follows by itself.
            live.clock.advance(seconds=10)
            assert send_batches(live, transport, 1).sent == 10
            wait_for_field(driver, "sent", "10")
            assert field(driver, "per_second") == "1.00"   # 10 messages in the 10 s since the start
            assert driver.find_element(By.ID, "delivery-progress").get_attribute("value") == "10"
            driver.save_screenshot(str(artifacts / "report-sending.png"))

            # Pause from the campaign page: the worker sends nothing; resume, and it sends the rest.
            driver.get(campaign_url)
            button(driver, "Pause").click()
            until(driver, lambda d: "Campaign paused." in d.page_source)
            assert driver.find_element(By.ID, "campaign-status").text == "Paused"
            assert send_batches(live, transport, None).sent == 0
            button(driver, "Resume").click()
            until(driver, lambda d: "Campaign resumed." in d.page_source)
            assert driver.find_element(By.ID, "campaign-status").text == "Sending"
            assert send_batches(live, transport, None).sent == 20
            live.clock.advance(seconds=5)
            tick(live.engine, live.clock())
            wait_for_field(driver, "status", "Sent")
            assert field(driver, "sent") == "30"
        finally:
            transport.close()
    assert sorted(rcpt for _, rcpts, _ in smtp.messages for rcpt in rcpts) == sorted(PEOPLE)

    # Three people open the message and two of them click (through the tracking URLs they received).
    readers = live.app.test_client()
    for _, _, data in smtp.messages[:3]:
        open_path, click_path = tracking_paths(data)
        assert readers.get(open_path).status_code == 200
    for _, _, data in smtp.messages[:2]:
        assert readers.get(tracking_paths(data)[1]).status_code in (301, 302, 303, 307)

    driver.get(campaign_url + "/report")
    figures = {dd.get_attribute("data-figure"): dd.text
               for dd in driver.find_elements(By.CSS_SELECTOR, "#report-figures dd")}
    assert (figures["sent"], figures["unique-opens"], figures["unique-clicks"]) == ("30", "3", "2")
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart polyline")
    rows = driver.find_elements(By.CSS_SELECTOR, "#timeline-table tbody tr")
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    assert sum(int(c[2]) for c in cells) >= 3 and sum(int(c[3]) for c in cells) == 2
    links = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#links-table td")]
    assert links[:3] == ["https://example.com/bulbs", "2", "2"]
    driver.save_screenshot(str(artifacts / "report.png"))
    driver.find_element(By.LINK_TEXT, "Deliveries and bounces by recipient domain").click()
    until(driver, lambda d: d.find_elements(By.ID, "domains-table"))
    domains = {row.find_elements(By.TAG_NAME, "td")[0].text: row.find_elements(By.TAG_NAME, "td")[1].text
               for row in driver.find_elements(By.CSS_SELECTOR, "#domains-table tbody tr")}
    assert domains == {"example.com": "20", "example.org": "10"}
    driver.get(f"{live.url}/console/campaigns")
    driver.save_screenshot(str(artifacts / "campaigns.png"))
    driver.set_window_size(390, 844)   # a phone
    driver.get(campaign_url + "/report")
    driver.save_screenshot(str(artifacts / "report-phone.png"))
    driver.set_window_size(1280, 900)

    # Keyboard: the skip link is the first stop and leads to the content.
    driver.get(f"{live.url}/console/campaigns")
    driver.find_element(By.TAG_NAME, "body").send_keys("\t")
    assert driver.switch_to.active_element.text == "Skip to content"

    # Someone else's campaign is not found.
    button(driver, "Sign out").click()
    until(driver, lambda d: d.find_elements(By.ID, "username"))
    sign_in(driver, live, "eve")
    for path in ("", "/report"):
        driver.get(campaign_url + path)
        assert driver.find_element(By.TAG_NAME, "h1").text == "Not found"
    driver.save_screenshot(str(artifacts / "not-found.png"))


def test_a_large_import_is_queued_and_its_page_follows_the_job(browser, live, tmp_path):
    from engine.audience.import_runner import run_import_jobs

    driver = browser
    make_user(live.engine, "ivy")
    sign_in(driver, live, "ivy")
    driver.get(f"{live.url}/console/lists")
    driver.find_element(By.ID, "new-list-name").send_keys("Many")
    button(driver, "Create list").click()
    until(driver, lambda d: heading(d) == "Many")
    driver.find_element(By.LINK_TEXT, "Import CSV").click()
    csv_file = tmp_path / "many.csv"
    csv_file.write_text("Email\n" + "".join(f"person{i}@example.com\n" for i in range(3_000)))
    driver.find_element(By.ID, "csv_file").send_keys(str(csv_file))
    button(driver, "Import").click()
    status = until(driver, lambda d: d.find_element(By.CSS_SELECTOR, '[data-import="status"]'))
    assert status.text == "Queued"
    assert driver.find_element(By.ID, "import-progress").get_attribute("value") in (None, "0")
    run_import_jobs(live.engine, holder="browser-test")
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, '[data-import="status"]').text == "Completed",
          "the import page never showed the job Completed")
    bar = driver.find_element(By.ID, "import-progress")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("3000", "3000")
    assert driver.find_element(By.CSS_SELECTOR, '[data-import="imported"]').text == "3000"
