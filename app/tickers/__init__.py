"""The tickers directory (/tickers/), each ticker's page and the watchlist.

The blueprint is made in `routes` and registered from there by the factory: this package does
not import its views, so that the notes (which show on a ticker's page) can use the watchlist's
data layer without an import circle.
"""
