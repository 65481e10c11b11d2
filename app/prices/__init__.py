"""Price data: the one ticker rule (`tickers`), CSV import (`importing`), generated demo data
(`demo`), the query layer the dashboard calls (`queries`) and the `flask prices ...` commands
(`cli`)."""
