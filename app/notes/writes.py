"""Writing and deleting notes. The form (app.notes.forms) has checked the values already; these
functions are what the database must still decide (the ticker may be deleted meanwhile, the note
may be gone or someone else's)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Note
from app.pagination import ID_MAX


class UnknownTicker(LookupError):
    """The note's ticker is not stored (it was deleted after the form checked it)."""


class NoteNotFound(LookupError):
    """No note has this id."""


class NotTheAuthor(PermissionError):
    """The note belongs to another analyst."""


def create_note(user_id: int, ticker: str, as_of: date, body: str) -> Note:
    """Store a note by `user_id` and commit; UnknownTicker when the ticker is gone (the foreign
    key decides, so a concurrent `prices delete` cannot leave a note on a missing ticker)."""
    note = Note(user_id=user_id, ticker=ticker, as_of=as_of, body=body)
    db.session.add(note)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise UnknownTicker(ticker) from None
    return note


def delete_note(user_id: int, note_id: int) -> None:
    """Delete note `note_id` if `user_id` wrote it, and commit. NoteNotFound for an unknown id
    (ids past INTEGER's range too, without asking the database), NotTheAuthor for another's."""
    note = db.session.get(Note, note_id) if 0 < note_id <= ID_MAX else None
    if note is None:
        raise NoteNotFound(note_id)
    if note.user_id != user_id:
        raise NotTheAuthor(note_id)
    # By id and author in one statement: a note deleted meanwhile simply deletes nothing.
    db.session.execute(delete(Note).where(Note.id == note_id, Note.user_id == user_id))
    db.session.commit()
