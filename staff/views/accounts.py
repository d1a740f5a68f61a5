"""Staff accounts, for administrators: list, create, change a role, deactivate. An
administrator cannot change their own role or deactivate themselves (so the console
always keeps one); the command line (`python -m staff`) can."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from staff import accounts, audit, roles
from staff.console import console
from staff.roles import needs

blueprint = Blueprint("accounts", __name__)


@blueprint.get("/accounts")
@needs("accounts")
def account_list() -> Any:
    engine = console().engine
    audit.record(engine, g.member.username, "view_accounts")
    return render_template("accounts.html", users=accounts.list_users(engine), roles=roles.ROLES,
                           labels=roles.LABELS, min_password=accounts.MIN_PASSWORD_LENGTH)


@blueprint.post("/accounts")
@needs("accounts")
def create_account() -> Any:
    engine = console().engine
    form = request.form
    if form.get("password", "") != form.get("password_again", ""):
        flash("The two passwords differ; no account was made.", "error")
        return redirect(url_for("accounts.account_list"))
    try:
        made = accounts.create_user(engine, form.get("username", "")[:64], form.get("password", "")[:1024],
                                    form.get("display_name", "")[:80], form.get("role", ""))
    except accounts.AccountError as error:
        flash(f"No account was made: {error}.", "error")
        return redirect(url_for("accounts.account_list"))
    audit.record(engine, g.member.username, "create_user", None, f"{made.username} ({made.role})")
    flash(f"Made the account '{made.username}' ({roles.LABELS[made.role]}).", "ok")
    return redirect(url_for("accounts.account_list"))


@blueprint.post("/accounts/<username>/role")
@needs("accounts")
def change_role(username: str) -> Any:
    engine = console().engine
    if username.strip().lower() == g.member.username:
        flash("You cannot change your own role; ask another administrator.", "error")
        return redirect(url_for("accounts.account_list"))
    try:
        role = roles.check_role(request.form.get("role", ""))
        name = accounts.set_role(engine, username, role)
    except ValueError as error:  # an unknown role, or an AccountError
        flash(f"Nothing was changed: {error}.", "error")
        return redirect(url_for("accounts.account_list"))
    audit.record(engine, g.member.username, "set_role", None, f"{name} -> {role}")
    flash(f"'{name}' is now {roles.LABELS[role]}.", "ok")
    return redirect(url_for("accounts.account_list"))


@blueprint.post("/accounts/<username>/deactivate")
@needs("accounts")
def deactivate(username: str) -> Any:
    engine = console().engine
    if username.strip().lower() == g.member.username:
        flash("You cannot deactivate your own account; ask another administrator.", "error")
        return redirect(url_for("accounts.account_list"))
    try:
        name = accounts.deactivate_user(engine, username)
    except accounts.AccountError as error:
        flash(f"Nothing was changed: {error}.", "error")
        return redirect(url_for("accounts.account_list"))
    audit.record(engine, g.member.username, "deactivate_user", None, name)
    flash(f"Deactivated '{name}': they can no longer sign in; their sessions were ended.", "ok")
    return redirect(url_for("accounts.account_list"))
