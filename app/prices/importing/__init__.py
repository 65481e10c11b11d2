"""CSV price import: vectorised parsing and validation, batched upserts in the database.

One job per module, in the order a row meets them:

- `sources`: plain or gzipped files, split into lines of bounded length; the logs of rejected
  rows and of warnings;
- `fields`: the header's columns and each field's value (the one ticker rule included);
- `chunks`: the vectorised parser of a chunk of lines (numpy, no Python per row);
- `rows`: the row-by-row parser, for what the vectorised one leaves and for quoted chunks;
- `batches`: parsed rows in columns, and their binary COPY encoding;
- `writers`: one batch per transaction on PostgreSQL or SQLite, and the writer thread;
- `pipeline`: `import_file`, which runs the above over one file, and its counts;
- `ticker_names`: `prices tickers`, names and industries.

Existing rows are never deleted first (no TRUNCATE-then-load): a re-import upserts on
`(ticker, time)`, leaving rows alone unless `replace` is set.
"""

from app.prices.importing.batches import Batch
from app.prices.importing.fields import ColumnError, RejectedRow, Row
from app.prices.importing.pipeline import DEFAULT_BATCH_SIZE, ImportStats, import_file
from app.prices.importing.sources import (
    MAX_LINE_BYTES,
    DamagedFile,
    RejectLog,
    WarningLog,
    default_rejects_path,
    default_warnings_path,
)
from app.prices.importing.ticker_names import import_ticker_names
from app.prices.importing.writers import BatchWriter, open_writer

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MAX_LINE_BYTES",
    "Batch",
    "BatchWriter",
    "ColumnError",
    "DamagedFile",
    "ImportStats",
    "RejectLog",
    "RejectedRow",
    "Row",
    "WarningLog",
    "default_rejects_path",
    "default_warnings_path",
    "import_file",
    "import_ticker_names",
    "open_writer",
]
