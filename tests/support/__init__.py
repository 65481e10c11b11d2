"""What the tests (and the benchmarks in bench/) share besides pytest fixtures.

conftest.py holds only fixtures; everything a test or a benchmark imports lives here, one
module per job:

- `ci`: `IN_CI`, and `require()`: skip without a service or tool, fail on CI instead;
- `data`: where the real price file is (`STOCKDASH_TEST_DATA`) and the CSV files made from it
  or generated (a subset of tickers, a year of minute bars);
- `databases`: the PostgreSQL server's admin URL and scratch databases made and dropped on it;
- `apps`: the test configuration of the app, and imports through the real CLI command;
- `users`: the default user, CSRF tokens, and `AuthActions`, which submits the real forms;
- `dash_client`: Dash's callback protocol (callback keys, request bodies, Plotly arrays);
- `browser`: Debian's Chromium and chromedriver, and page helpers for Selenium.

bench/harness.py imports these too, so a benchmark and a test cannot drift apart on how they
talk to Dash, where the data comes from, or how Chromium is started.
"""
