"""The dashboard's look in headless Chromium, on real prices: nothing in Plotly's toolbar sends
data off the site; every control, popup and table is legible (WCAG AA, read from computed
styles) in both themes, on a chart drawn on the page's own background; the ticker menu shows
ten rows and more with names and industries; on a phone the chart comes first, the controls fold
away and nothing scrolls sideways. Screenshots go to $STOCKDASH_SHOTS or $TMPDIR/shots/s13-theme
(light, dark, phone)."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import text

from app.extensions import db
from tests.support.apps import load_prices
from tests.support.browser import console_problems
from tests.support.data import store_prices, write_subset
from tests.support.users import create_user
from tests.test_browser_dashboard import log_in_from, wait_for_traces, wait_until_idle

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("STOCKDASH_SHOTS") or Path(tempfile.gettempdir(), "shots", "s13-theme"))
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
# Fourteen real tickers, so that the menu has more rows than it can show; names and sectors as
# the public constituents list gives them.
NAMES = {
    "AAPL": ("Apple Inc.", "Information Technology"),
    "MSFT": ("Microsoft Corp.", "Information Technology"),
    "GOOGL": ("Alphabet Inc Class A", "Information Technology"),
    "AMZN": ("Amazon.com Inc.", "Consumer Discretionary"),
    "JPM": ("JPMorgan Chase & Co.", "Financials"),
    "XOM": ("Exxon Mobil Corp.", "Energy"),
    "JNJ": ("Johnson & Johnson", "Health Care"),
    "KO": ("Coca-Cola Company (The)", "Consumer Staples"),
    "PG": ("Procter & Gamble", "Consumer Staples"),
    "WMT": ("Wal-Mart Stores", "Consumer Staples"),
    "GE": ("General Electric", "Industrials"),
    "BA": ("Boeing Company", "Industrials"),
    "IBM": ("International Business Machines", "Information Technology"),
    "DIS": ("The Walt Disney Company", "Consumer Discretionary"),
}
VIEW = "/dash/?tickers=AAPL,MSFT,GOOGL&start=2016-01-01&end=2016-12-31&ma=20,50"

# The contrast of an element's text with what is behind it, as WCAG 2 computes it: colours
# composited over the first opaque background up the ancestors (the page's white at the end).
CONTRAST_JS = """
function rgba(text) {
  const m = text.match(/rgba?\\(([^)]+)\\)/);
  if (!m) return null;
  const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
}
function over(top, bottom) {
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
}
function background(element) {
  const layers = [];
  for (let e = element; e; e = e.parentElement) {
    const colour = rgba(getComputedStyle(e).backgroundColor);
    if (colour && colour[3] > 0) layers.push(colour);
    if (colour && colour[3] >= 1) break;
  }
  return layers.reduceRight((below, layer) => over(layer, below), [255, 255, 255, 1]);
}
function luminance(c) {
  const [r, g, b] = c.slice(0, 3).map(v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}
window.__contrast = function (element, pseudo) {
  const behind = background(element);
  const colour = over(rgba(getComputedStyle(element, pseudo || null).color), behind);
  return contrast(colour, behind);
};
window.__background = background;
window.__rgba = rgba;
"""
# Every element with text a user reads, by what it is; shown ones only, and none disabled
# (WCAG exempts inactive controls).
ELEMENTS_JS = """
const groups = arguments[0];
const out = [];
const text = e => (e.tagName === 'INPUT' ? e.value : e.textContent).trim();
for (const [name, selector] of Object.entries(groups)) {
  const found = [...document.querySelectorAll(selector)].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && !e.closest(':disabled, .disabled')
      && getComputedStyle(e).visibility !== 'hidden' && text(e) !== '';
  });
  out.push([name, found.length, found.map(e => [text(e).slice(0, 30), window.__contrast(e)])]);
}
return out;
"""
PAGE = {
    "navbar links": "#site-navbar .navbar-brand, #site-navbar .nav-link, #site-navbar label",
    "labels": "#controls-panel label.form-label, #controls-panel .form-check-label",
    "star": "#watch-star",
    "chosen tickers": "#tickers .dash-dropdown-value-item, #tickers .dash-dropdown-value-count",
    "placeholder": "#compare .dash-dropdown-placeholder",
    "dates": "#dates, #dates-end-date",
    "buttons": "#controls-panel .btn, #download-button",
    "freshness": "#freshness",
    "notice": "#notices .alert",
    "summary": "#summary th button, #summary td",
}
MENU = {
    "menu options": "#tickers ~ * .dash-options-list-option-text > span",
    "menu actions": "#tickers ~ * .dash-dropdown-action-button",
}
CALENDAR = {
    "calendar days": ".dash-datepicker-calendar td.dash-datepicker-calendar-date-inside",
    "calendar headings": ".dash-datepicker-calendar th, .dash-datepicker-controls input",
}
CHART_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
const paper = window.__rgba(getComputedStyle(gd.querySelector('.main-svg')).backgroundColor);
const texts = [...gd.querySelectorAll('.legendtext, .xtick text, .ytick text, .ytitle')];
return {paper: paper, page: window.__background(gd.parentElement),
        body: window.__rgba(getComputedStyle(document.body).backgroundColor),
        texts: texts.map(t => window.__rgba(getComputedStyle(t).fill))};
"""
MODEBAR_JS = """
const gd = document.querySelector('#price-chart .js-plotly-plot');
return {context: {showSendToCloud: gd._context.showSendToCloud,
                  plotlyServerURL: gd._context.plotlyServerURL},
        plotlyenv: typeof window.PLOTLYENV,
        buttons: [...gd.querySelectorAll('.modebar-btn')].map(
            b => [b.getAttribute('data-title') || '', b.getAttribute('title') || '',
                  b.getAttribute('data-attr') || '', b.getAttribute('data-val') || ''].join(' '))};
"""
BOX_JS = "const b = arguments[0].getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]"


@pytest.fixture(scope="module")
def fourteen_tickers(real_file, tmp_path_factory) -> tuple[Path, Path]:
    """The real rows of the NAMES tickers, and a names file for them."""
    folder = tmp_path_factory.mktemp("fourteen")
    prices, names = folder / "prices.csv", folder / "names.csv"
    write_subset(real_file, prices, NAMES)
    names.write_text("ticker,name,industry\n" + "".join(
        f'{ticker},"{name}",{industry}\n' for ticker, (name, industry) in NAMES.items()))
    return prices, names


@pytest.fixture
def site(live_app, live_server, fourteen_tickers):
    """The live site with the fourteen tickers and their names, and a registered user."""
    prices, names = fourteen_tickers
    load_prices(live_app, prices)
    result = live_app.test_cli_runner().invoke(args=["prices", "tickers", str(names)])
    assert result.exit_code == 0, result.output
    create_user(live_app)
    return live_server


def open_view(browser, base: str, view: str, theme: str) -> None:
    """Open `view` in `theme` (as the navbar's switch remembers it) and wait for its chart."""
    browser.execute_script(f"localStorage.setItem('stockdash-theme', '{theme}')")
    browser.get(base + view)
    wait_for_traces(browser, lambda traces: {"AAPL", "MSFT"} <= {t["name"] for t in traces})
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#summary td"))
    wait_until_idle(browser)


def illegible(browser, groups: dict) -> list:
    """The texts in `groups` under 4.5:1; fails if a group has nothing to measure."""
    browser.execute_script(CONTRAST_JS)
    failures = []
    for name, count, measured in browser.execute_script(ELEMENTS_JS, groups):
        assert count, f"nothing found for {name}"
        failures += [(name, text, round(ratio, 2)) for text, ratio in measured if ratio < 4.5]
    return failures


def shot(browser, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{name}.png"))


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_toolbar_offers_nothing_that_sends_data_off_the_site(site, browser):
    log_in_from(browser, site, VIEW)
    open_view(browser, site, VIEW, "light")
    toolbar = browser.execute_script(MODEBAR_JS)
    # plotly.js 4 puts a "Share chart..." button there by default, posting to Plotly Cloud.
    assert toolbar["context"] == {"showSendToCloud": False, "plotlyServerURL": ""}
    assert toolbar["plotlyenv"] == "undefined"  # its other source of a destination
    assert any("Zoom" in button for button in toolbar["buttons"]), toolbar["buttons"]
    for button in toolbar["buttons"]:
        for word in ("share", "cloud", "chart studio", "edit", "link"):
            assert word not in button.lower(), button
    assert console_problems(browser) == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_control_popup_and_table_is_legible_on_a_chart_of_the_pages_colour(
    site, browser, theme
):
    log_in_from(browser, site, VIEW)
    # An unknown ticker, for a notice to measure as well.
    open_view(browser, site, VIEW.replace("GOOGL", "GOOGL,NOPE"), theme)
    assert browser.execute_script("return document.documentElement.dataset.bsTheme") == theme
    assert illegible(browser, PAGE) == []

    chart = browser.execute_script(CONTRAST_JS + CHART_JS)
    assert chart["paper"] == chart["page"] == chart["body"]  # plotly_dark's #111 was not
    assert len(chart["texts"]) > 10
    for colour in chart["texts"]:
        assert contrast(colour, chart["body"]) >= 4.5, (colour, chart["body"])

    navbar = browser.find_element(By.ID, "site-navbar")
    navbar_background = browser.execute_script(
        "return window.__background(arguments[0])", navbar)
    assert navbar_background != chart["body"]  # its own colour, not the page's
    if theme == "dark":  # and a line where it ends, dark on dark
        assert navbar.value_of_css_property("border-bottom-width") == "1px"

    browser.find_element(By.ID, "tickers").click()
    WebDriverWait(browser, 10).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".dash-options-list-option"))
    assert illegible(browser, MENU) == []
    details = browser.execute_script(
        "const span = document.querySelector('#tickers ~ * .dash-options-list-option-text > span');"
        "return window.__contrast(span, '::after')")
    assert details >= 4.5
    shot(browser, f"desktop-{theme}-tickers")
    browser.find_element(By.CSS_SELECTOR, ".dash-dropdown-search").send_keys("\ue00c")  # Escape

    browser.find_element(By.ID, "dates").click()
    WebDriverWait(browser, 10).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".dash-datepicker-calendar td"))
    assert illegible(browser, CALENDAR) == []
    selected = browser.execute_script(
        "return window.__contrast(document.querySelector("
        "'.dash-datepicker-calendar td.dash-datepicker-calendar-date-selected'))")
    assert selected >= 4.5
    shot(browser, f"desktop-{theme}-dates")
    assert console_problems(browser) == []


def contrast(colour, background) -> float:
    """WCAG 2's contrast ratio of two opaque sRGB colours (lists of 0-255 components)."""

    def luminance(rgb):
        linear = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4
                  for v in rgb[:3]]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(colour), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_ticker_menu_shows_ten_rows_with_name_and_industry_and_searches_them(site, browser):
    log_in_from(browser, site, VIEW)
    open_view(browser, site, VIEW, "light")
    browser.find_element(By.ID, "tickers").click()
    menu = WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.CSS_SELECTOR, ".dash-dropdown-content"))
    WebDriverWait(browser, 10).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".dash-options-list-option")) == 14)
    inside = browser.execute_script(BOX_JS, menu)
    assert inside[3] <= browser.execute_script("return window.innerHeight")  # all on screen
    rows = [browser.execute_script(BOX_JS, option) for option in
            browser.find_elements(By.CSS_SELECTOR, ".dash-options-list-option")]
    visible = [row for row in rows if row[1] >= inside[1] and row[3] <= inside[3]]
    assert len(visible) >= 10  # Dash's default height showed three
    first = browser.find_element(By.CSS_SELECTOR, ".dash-options-list-option-text > span")
    assert first.text == "AAPL"  # the chosen come first
    assert int(first.value_of_css_property("font-weight")) >= 600
    details = browser.execute_script(
        "return getComputedStyle(arguments[0], '::after').content", first)
    assert "Apple Inc. · Information Technology" in details

    search = browser.find_element(By.CSS_SELECTOR, ".dash-dropdown-search")
    for typed, found in (("consumer staples", ["KO", "PG", "WMT"]), ("exxon", ["XOM"]),
                         ("jn", ["JNJ"]), ("ibm", ["IBM"])):
        search.clear()
        search.send_keys(typed)
        WebDriverWait(browser, 10).until(lambda b, found=found: sorted(
            e.text for e in b.find_elements(
                By.CSS_SELECTOR, ".dash-options-list-option-text > span")) == found)
    search.send_keys("\ue007")  # Enter: takes the first found
    WebDriverWait(browser, 20).until(lambda b: "IBM" in b.current_url)
    # The box shows the symbols alone (cut short with an ellipsis past its width), the name
    # and industry being their tooltip.
    chosen = browser.find_elements(By.CSS_SELECTOR, "#tickers .dash-dropdown-value-item span")
    assert [item.get_attribute("textContent") for item in chosen] == [
        "AAPL", "MSFT", "GOOGL", "IBM"]
    assert chosen[-1].get_attribute("title") == " · ".join(NAMES["IBM"])
    # The new URL's answer left the options out (the page holds them): the menu has them all.
    wait_until_idle(browser)
    if browser.find_elements(By.CSS_SELECTOR, ".dash-dropdown-search"):
        browser.find_element(By.CSS_SELECTOR, ".dash-dropdown-search").send_keys("\ue00c")
    WebDriverWait(browser, 10).until(
        lambda b: not b.find_elements(By.CSS_SELECTOR, ".dash-dropdown-content"))
    browser.find_element(By.ID, "tickers").click()
    WebDriverWait(browser, 10).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".dash-options-list-option")) == 14)
    assert console_problems(browser) == []


def test_a_menu_of_a_hundred_tickers_and_more_still_shows_a_row_a_line(site, live_app, browser):
    # Dash draws a menu of 100 options and more as a virtual list, sized by its longest label
    # (the symbol): names and industries wrapped onto second lines, and eight rows showed.
    with live_app.app_context():
        for number in range(100):
            ticker = f"ZZ{number:02d}"
            store_prices(ticker, [datetime(2018, 1, 2)])
            db.session.execute(text("UPDATE stock_tickers SET name = :name, industry = :industry "
                                    "WHERE ticker = :ticker"),
                               {"ticker": ticker, "name": f"Long Name Holdings {number} Inc.",
                                "industry": "Telecommunication Services"})
        db.session.commit()
    log_in_from(browser, site, VIEW)
    open_view(browser, site, VIEW, "light")
    browser.find_element(By.ID, "tickers").click()
    WebDriverWait(browser, 10).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".dash-options-list-option"))
    menu = browser.find_element(By.CSS_SELECTOR, ".dash-dropdown-content")
    assert browser.find_elements(By.CSS_SELECTOR, ".dash-options-list-virtualized")
    inside = browser.execute_script(BOX_JS, menu)
    rows = [browser.execute_script(BOX_JS, option) for option in
            browser.find_elements(By.CSS_SELECTOR, ".dash-options-list-option")]
    visible = [row for row in rows if row[1] >= inside[1] and row[3] <= inside[3]]
    assert len(visible) >= 10
    assert {round(row[3] - row[1]) for row in visible} == {40}  # one line each
    shot(browser, "desktop-light-hundred-tickers")
    assert console_problems(browser) == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_on_a_phone_the_chart_comes_first_and_the_controls_fold_away(site, browser, theme):
    log_in_from(browser, site, VIEW)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    open_view(browser, site, VIEW, theme)
    shot(browser, f"phone-{theme}")
    navbar = browser.find_element(By.ID, "site-navbar")
    assert navbar.size["height"] <= 64  # one row
    panel = browser.find_element(By.ID, "controls-panel")
    assert not panel.is_displayed()  # folded away, still in the page for the URL's callbacks
    chart = browser.find_element(By.ID, "price-chart")
    assert chart.location["y"] < 150  # first on the page, under the navbar and its button
    width = browser.execute_script("return window.innerWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    summary = browser.find_element(By.ID, "summary")
    browser.execute_script("arguments[0].scrollIntoView({behavior: 'instant'})", summary)
    assert browser.execute_script("return arguments[0].getBoundingClientRect().right",
                                  summary) <= width
    assert browser.execute_script(
        "const w = arguments[0].parentElement; return w.scrollWidth <= w.clientWidth", summary)
    shot(browser, f"phone-{theme}-summary")
    # Three tickers with two averages each fill the legend's rows: the toolbar stays clear.
    legend = browser.find_element(By.CSS_SELECTOR, "#price-chart .legend")
    modebar = browser.find_element(By.CSS_SELECTOR, "#price-chart .modebar")
    assert not overlap(browser.execute_script(BOX_JS, legend),
                       browser.execute_script(BOX_JS, modebar))
    assert illegible(browser, {"summary": PAGE["summary"], "toggle": "#controls-toggle"}) == []

    browser.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    browser.find_element(By.ID, "controls-toggle").click()
    WebDriverWait(browser, 10).until(
        lambda b: panel.is_displayed() and browser.execute_script(BOX_JS, panel)[0] == 0)
    shot(browser, f"phone-{theme}-controls")
    assert illegible(browser, {name: PAGE[name] for name in ("labels", "dates", "buttons")}) == []
    panel.find_element(By.XPATH, ".//label[normalize-space()='OHLC']").click()
    WebDriverWait(browser, 20).until(lambda b: "chart=ohlc" in b.current_url)
    wait_for_traces(browser, lambda traces: traces[0]["type"] == "ohlc")
    panel.find_element(By.CSS_SELECTOR, ".btn-close").click()
    WebDriverWait(browser, 10).until(lambda b: not panel.is_displayed())
    assert console_problems(browser) == []


def test_on_a_desktop_the_controls_are_the_side_column(site, browser):
    log_in_from(browser, site, VIEW)
    open_view(browser, site, VIEW, "light")
    shot(browser, "desktop-light")
    panel = browser.find_element(By.ID, "controls-panel")
    chart = browser.find_element(By.ID, "price-chart")
    assert panel.is_displayed()
    assert not browser.find_element(By.ID, "controls-toggle").is_displayed()
    assert browser.execute_script(BOX_JS, panel)[2] <= browser.execute_script(BOX_JS, chart)[0]
    modebar = browser.execute_script(BOX_JS, browser.find_element(
        By.CSS_SELECTOR, "#price-chart .modebar"))
    assert modebar[1] >= browser.execute_script(BOX_JS, chart)[1]  # on the chart, as before
    dates = browser.execute_script(BOX_JS, browser.find_element(By.ID, "dates-wrapper"))
    caret = browser.execute_script(BOX_JS, browser.find_element(
        By.CSS_SELECTOR, "#dates-wrapper .dash-datepicker-caret-icon"))
    assert caret[2] <= dates[2]  # the date picker's caret was past its box
    assert console_problems(browser) == []
