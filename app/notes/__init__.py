"""Research notes: writing and deleting them, the lists they appear in (home feed, explore,
profiles, ticker pages, each paged by the keyset (created_at, id)) and the dashboard's markers."""
