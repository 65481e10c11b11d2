"""Identicons: an avatar the app draws itself from a user's id.

Nothing is fetched from another site (pages stay under the 'self' CSP) and no e-mail address,
hashed or not, leaves the site. The picture is a 5 by 5 grid, mirrored left to right, in one colour,
all taken from a SHA-256 of the id; AVATAR_VERSION is part of what is hashed, so changing the
drawing changes every ETag and browsers fetch the new pictures.
"""

from __future__ import annotations

import hashlib

AVATAR_VERSION = "1"
GRID = 5
MARGIN = 1  # cells of background around the grid


def identicon_svg(user_id: int) -> str:
    """The SVG document of `user_id`'s identicon (the same id always draws the same picture)."""
    digest = hashlib.sha256(f"stockdash-avatar-v{AVATAR_VERSION}:{user_id}".encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    bits = int.from_bytes(digest[2:6], "big")
    half = (GRID + 1) // 2
    cells: set[tuple[int, int]] = set()
    for column in range(half):
        for row in range(GRID):
            if bits >> (column * GRID + row) & 1:
                cells.add((column, row))
                cells.add((GRID - 1 - column, row))
    if not cells:  # a blank face would look like a missing picture
        cells.add((half - 1, GRID // 2))
    size = GRID + 2 * MARGIN
    rects = "".join(
        f'<rect x="{x + MARGIN}" y="{y + MARGIN}" width="1" height="1"/>' for x, y in sorted(cells)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size * 10}" height="{size * 10}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="hsl({hue}, 45%, 92%)"/>'
        f'<g fill="hsl({hue}, 55%, 42%)">{rects}</g></svg>'
    )


def avatar_etag(svg: str) -> str:
    """A strong ETag for the picture (what If-None-Match is compared with)."""
    return hashlib.sha256(svg.encode()).hexdigest()[:32]
