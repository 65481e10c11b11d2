"""The account half of the site (SPEC "Round 2"), one job per module:

- `events`: the sign-in history (login_events) and its retention;
- `avatars`: identicons drawn from a user's id;
- `activity`: `last_seen_at`, written at most every few minutes;
- `forms`, `routes`: the profile page, its avatar and /settings/*;
- `mail`, `tokens`, `reset`: forgotten passwords (/reset-password/).

This file imports nothing, so that `app.auth` can record login events without importing the
views (which import `app.auth` themselves).
"""
