"""Signing in and out."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, session, url_for

from staff import accounts, audit
from staff.console import console, local_path
from staff.roles import needs

blueprint = Blueprint("auth", __name__)


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    engine = console().engine
    error = None
    username = ""
    next_page = local_path(request.values.get("next", ""), url_for("conversations.conversation_list"))
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        result = accounts.authenticate(engine, username, request.form.get("password", "")[:1024])
        if result.member is not None:
            token = accounts.start_session(engine, result.member, console().settings.staff.session_hours)
            session.clear()
            session.permanent = True
            session["token"] = token
            audit.record(engine, result.member.username, "login")
            return redirect(next_page)
        # the log tells the administrator what the page must not tell anyone
        audit.record(engine, username.strip().lower() or "?", "login_failed", None,
                     "account locked" if result.locked_until else "")
        error = accounts.SIGN_IN_FAILED
    return render_template("login.html", error=error, next=next_page,
                           username=username), (401 if error else 200)


@blueprint.post("/logout")
@needs("sign_out")
def logout() -> Any:
    engine = console().engine
    accounts.end_session(engine, session.get("token", ""))
    audit.record(engine, g.member.username, "logout")
    session.clear()
    return redirect(url_for("auth.login"))
