"""The tickers directory (/tickers/), each ticker's page and the watchlist.

The blueprint is made in `routes`, beside its views, and only named here (see app.main).
"""

from app.tickers.routes import bp

__all__ = ["bp"]
