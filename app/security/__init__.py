"""Cross-cutting security, one job per module:

- `redirects`: following `next` only to this site;
- `identity`: the string a login stores in the session and the remember cookie (pure, imports
  nothing of the app, so that `app.models` can use it);
- `login`: Flask-Login's setup and the user loader that checks that string;
- `csrf`: which requests must carry a CSRF token;
- `headers`: the Content-Security-Policy and the other headers of every response.

This file imports nothing, so that importing one of them never imports the others.
"""
