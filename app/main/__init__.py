"""Public pages.

The blueprint is made in `routes`, beside its views, and only named here: so no module imports
its own package back (the import circle of the classic `from app.main import bp` layout).
"""

from app.main.routes import bp

__all__ = ["bp"]
