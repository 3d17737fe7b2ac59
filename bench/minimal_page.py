"""The page benchmark's yardstick: the least a database-backed page can do (bench/pages.py).

Flask and SQLAlchemy read one campaign row by primary key and render a few lines of HTML.
No app factory, no templates, no sessions: what remains is gunicorn, Flask, one pooled
connection and one indexed SELECT, the floor any real page stands on.
"""

from __future__ import annotations

import html
import os

import sqlalchemy as sa
from flask import Flask

app = Flask(__name__)
engine = sa.create_engine(os.environ["MINIMAL_DATABASE_URL"], pool_size=8)
select_one = sa.text("SELECT title, goal_minor FROM campaigns WHERE id = :id")


@app.get("/one")
def one_row() -> str:
    with engine.connect() as connection:
        title, goal = connection.execute(select_one, {"id": 1}).one()
    return f"<!doctype html><title>{html.escape(title)}</title><p>{goal}</p>"


@app.get("/healthz")
def healthz() -> tuple[str, int]:
    return "ok", 200
