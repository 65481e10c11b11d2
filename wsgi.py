"""WSGI entry point: `gunicorn wsgi:app` and `flask --app wsgi ...`."""

from dotenv import load_dotenv

load_dotenv()  # the environment wins over .env; .env is optional

from app import create_app  # noqa: E402  (after .env is read, since config reads the environment)

app = create_app()
