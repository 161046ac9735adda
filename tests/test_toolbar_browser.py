"""The Tracing panel as a developer sees it: the demo on waitress, in headless Chromium.

Chromium and its driver come from Debian (``apt-get install chromium
chromium-driver``, which ``.ci/run`` does); Selenium is pointed at that
driver, so it never downloads one. Where they are missing the tests are
skipped, except on CI (``CI=true``), where that is a failure.

With ``UPDATE_SCREENSHOT=1`` the screenshot of the panel is written to
``docs/tracing-panel.png`` (the README shows it); it is always written to
the test's temporary directory.
"""
import os
import re
import shutil
import urllib.parse
import urllib.request

import pytest
from pyramid.paster import get_appsettings
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from examples import demo
from examples.serving import serving

from . import toolbar_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('CHROMEDRIVER', '/usr/bin/chromedriver')
SCREENSHOT = os.path.join(ROOT, 'docs', 'tracing-panel.png')

#: Without these Chromium tries to reach Google's services and hangs offline.
CHROMIUM_FLAGS = (
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage', '--window-size=1400,1000',
)


def browser_missing():
    """Why no browser can be driven here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return '%s is not installed (apt-get install chromium chromium-driver)' % path
    return None


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    missing = browser_missing()
    if missing:
        if os.environ.get('CI') == 'true':
            pytest.fail('CI must run the browser tests, but ' + missing)
        pytest.skip(missing)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument('--user-data-dir=%s' % tmp_path_factory.mktemp('chromium-profile'))
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope='module')
def demo_url():
    """The demo application, configured by development.ini, served on 127.0.0.1."""
    settings = dict(get_appsettings(os.path.join(ROOT, 'development.ini')))
    settings['ot.otel.exporter'] = 'memory'  # keep the test's output quiet
    settings['demo.inventory_url'] = toolbar_app.closed_port_url()
    app = demo.main({}, **settings)
    with serving(app) as base_url:
        yield base_url
    app.registry.settings['ot.tracer'].tracer.shutdown()


def open_tracing_panel(browser, base_url, path):
    """Request ``path``, open the toolbar's page for that request and its Tracing panel."""
    with urllib.request.urlopen(base_url + path, timeout=30) as response:
        html = response.read().decode('utf-8')
    browser.get(base_url + toolbar_app.toolbar_path(html))
    browser.find_element(By.CSS_SELECTOR, '#pDebugPanel-tracing a').click()
    wait = WebDriverWait(browser, 10)
    return wait.until(expected_conditions.visibility_of_element_located(
        (By.CSS_SELECTOR, '#pDebugPanel-tracing-content .ot-panel')))


def bars(panel):
    """(depth, name, kind, is error, bar element) of each span, top to bottom."""
    return [(int(row.get_attribute('data-depth')),
             row.find_element(By.CSS_SELECTOR, '.ot-label .ot-name').text,
             row.get_attribute('data-kind'),
             'ot-error' in row.get_attribute('class').split(),
             row.find_element(By.CSS_SELECTOR, '.ot-bar'))
            for row in panel.find_elements(By.CSS_SELECTOR, '.ot-row')]


def test_the_demo_trace_is_a_nested_ordered_waterfall_with_the_failed_call_in_red(
        browser, demo_url, tmp_path):
    panel = open_tracing_panel(browser, demo_url, '/report')
    spans = bars(panel)
    assert [(depth, name, kind, error) for depth, name, kind, error, _ in spans] == [
        (0, 'GET /report', 'server', False),
        (1, 'view examples.demo.report', 'internal', False),  # ot.trace_internals
        (2, 'build report', 'internal', False),
        (3, 'load settings', 'internal', False),
        (3, 'GET', 'client', False),
        (4, 'GET /hello/{name}', 'server', False),
        (5, 'view examples.demo.hello', 'internal', False),
        (6, 'compose greeting', 'internal', False),
        (5, 'render json', 'internal', False),
        (3, 'GET', 'client', True),
    ]
    # each bar starts within its parent's and siblings are in start order
    lefts = [bar.rect['x'] for *_, bar in spans]
    rights = [bar.rect['x'] + bar.rect['width'] for *_, bar in spans]
    assert lefts[0] <= min(lefts) and rights[0] >= max(rights) - 1
    assert lefts[3] <= lefts[4] <= lefts[9] and lefts[4] <= lefts[5] <= lefts[6] <= lefts[7]
    assert lefts[7] <= lefts[8]
    # each call says where it went, beside its method
    targets = [row.find_element(By.CSS_SELECTOR, '.ot-label').text
               for row in panel.find_elements(By.CSS_SELECTOR, '.ot-row[data-kind="client"]')]
    assert targets[0] == 'GET %s/hello/report' % urllib.parse.urlsplit(demo_url).netloc
    assert re.fullmatch(r'GET 127\.0\.0\.1:\d+/stock', targets[1])
    # the failed call is red; the others are not
    red, green, blue = rgb(spans[9][4].value_of_css_property('background-color'))
    assert red > 200 and green < 160 and blue < 160
    assert rgb(spans[4][4].value_of_css_property('background-color'))[2] > 200
    assert spans[9][4].find_element(By.CSS_SELECTOR, '.ot-error-mark').is_displayed()

    # clicking a bar shows its attributes and events
    detail = panel.find_elements(By.CSS_SELECTOR, '.ot-detail')[9]
    assert not detail.is_displayed()
    spans[9][4].click()
    WebDriverWait(browser, 5).until(lambda _: detail.is_displayed())
    # urllib raises URLError for a refused connection
    attributes = dict(
        tuple(cell.text for cell in row.find_elements(By.TAG_NAME, 'td'))
        for row in detail.find_elements(By.CSS_SELECTOR, '.ot-attributes tbody tr'))
    assert attributes['error.type'] == 'urllib.error.URLError'
    assert 'Connection refused' in detail.text
    # a stack trace reads as one, line by line
    assert 'Traceback (most recent call last):\n' in detail.text
    assert '\\x0a' not in detail.text
    assert 'url.full' in detail.text and 'exception' in detail.text
    spans[2][4].click()
    assert 'report.kind' in panel.find_elements(By.CSS_SELECTOR, '.ot-detail')[2].text

    trace_link = panel.find_element(By.CSS_SELECTOR, '.ot-trace-link').get_attribute('value')
    trace_id = panel.find_element(By.CSS_SELECTOR, '.ot-trace-id').text
    assert re.fullmatch('[0-9a-f]{32}', trace_id)
    assert trace_link == 'http://localhost:16686/trace/' + trace_id

    browser.execute_script('window.scrollTo(0, 0)')
    shot = tmp_path / 'tracing-panel.png'
    browser.save_screenshot(str(shot))
    if os.environ.get('UPDATE_SCREENSHOT') == '1':
        shutil.copyfile(shot, SCREENSHOT)


def test_the_demo_traversal_page_shows_its_view_and_template_rendering(browser, demo_url):
    panel = open_tracing_panel(browser, demo_url, '/shop/teapot/')
    spans = bars(panel)
    assert [(depth, name, kind, error) for depth, name, kind, error, _ in spans] == [
        (0, 'GET Product', 'server', False),
        (1, 'view examples.demo.product', 'internal', False),
        (1, 'render examples:templates/product.jinja2', 'internal', False),
    ]
    lefts = [bar.rect['x'] for *_, bar in spans]
    assert lefts[0] <= lefts[1] <= lefts[2]
    spans[2][4].click()
    detail = panel.find_elements(By.CSS_SELECTOR, '.ot-detail')[2]
    WebDriverWait(browser, 5).until(lambda _: detail.is_displayed())
    assert 'pyramid.renderer.template' in detail.text


def test_markup_in_an_attribute_is_shown_as_text_and_never_run(browser, tmp_path):
    app = toolbar_app.make_app({
        'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
        'ot.otel.exporter': 'memory'})
    with serving(app) as base_url:
        panel = open_tracing_panel(browser, base_url, '/work')
        row = next(row for row in panel.find_elements(By.CSS_SELECTOR, '.ot-row')
                   if row.find_element(By.CSS_SELECTOR, '.ot-label').text == 'load user')
        row.click()
        assert toolbar_app.SCRIPT in panel.text
        assert browser.execute_script('return window.tracingPanelInjected') is None
    app.registry.settings['ot.tracer'].tracer.shutdown()


def rgb(css_color):
    return [int(part) for part in re.findall(r'\d+', css_color)[:3]]
