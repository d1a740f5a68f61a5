"""The console's pages, one Flask blueprint per concern. Each view reads and writes
through the module that owns the data (staff/conversations.py, queues.py, improve.py,
exports.py, accounts.py; who may: roles.py) and records what it showed or changed (staff/audit.py)."""
from __future__ import annotations

from flask import Flask

from staff.views import accounts, answers, auth, conversations, details, exports, improve, queues

BLUEPRINTS = (auth.blueprint, conversations.blueprint, queues.blueprint, improve.blueprint,
              exports.blueprint, details.blueprint, answers.blueprint,
              accounts.blueprint)


def register(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
