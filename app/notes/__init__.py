"""Research notes: writing and deleting them, the lists they appear in (home feed, explore,
profiles, ticker pages, each paged by the keyset (created_at, id)) and the dashboard's markers.

The blueprint is made in `routes` and registered from there by the factory (this package does
not import its views: the tickers' and accounts' pages use its queries and form).
"""
