"""Price data: CSV import (`importer`), generated demo data (`demo`), the query layer the
dashboard calls (`queries`) and the `flask prices ...` commands (`cli`)."""
