"""Accounts: registration, login, logout.

The blueprint is made in `routes`, beside its views, and only named here: so no module imports
its own package back (the import circle of the classic `from app.auth import bp` layout).
"""

from app.auth.routes import bp

__all__ = ["bp"]
