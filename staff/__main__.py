"""The staff console's commands (run with the project's Python: `.venv/bin/python -m staff`).

    create-user USERNAME --role ROLE [--name "Display name"]
                                                   asks for the password twice; ROLE is
                                                   front_desk, clinician or admin
    set-role USERNAME ROLE                         another role (from its next request on)
    roles                                          who may do what (Markdown table)
    set-password USERNAME                          new password; ends that user's sessions
    deactivate-user USERNAME                       no more sign-ins; ends that user's sessions
    serve [--host 127.0.0.1] [--port 8081]         the web app (waitress)
    retention --days N [--dry-run]                 deletes conversations older than N days
    forget CONVERSATION_ID                         deletes one conversation everywhere

`--password-stdin` reads the password from standard input instead (for scripts).
Settings (DATABASE_URL, STAFF_SECRET_KEY, ...) come from the environment; see
.env.example. `make staff-user STAFF_USER=name STAFF_ROLE=role` runs create-user with `make run`'s settings.
The account commands are recorded in the audit log as done by "command line".
"""
from __future__ import annotations

import argparse
import getpass
import sys

from clinic_assistant.clinic.forget import sweep_orphan_contacts
from clinic_assistant.clinic.db import engine_for
from clinic_assistant.settings import Settings
from staff import accounts, audit, conversations, live, roles



def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Password (at least {accounts.MIN_PASSWORD_LENGTH} characters): ")
    if getpass.getpass("Same password again: ") != first:
        sys.exit("error: the two passwords differ; nothing was changed")
    return first


def _role(text: str) -> str:
    try:
        return roles.check_role(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m staff", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="make a staff account")
    create.add_argument("username")
    create.add_argument("--role", required=True, type=_role, help=", ".join(roles.ROLES))
    create.add_argument("--name", default="", help="name shown to patients with replies")
    create.add_argument("--password-stdin", action="store_true")
    set_role = commands.add_parser("set-role", help="give a staff member another role")
    set_role.add_argument("username")
    set_role.add_argument("role", type=_role, help=", ".join(roles.ROLES))
    commands.add_parser("roles", help="who may do what")
    password = commands.add_parser("set-password", help="change a staff member's password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    deactivate = commands.add_parser("deactivate-user", help="stop a staff member from signing in")
    deactivate.add_argument("username")
    serve = commands.add_parser("serve", help="run the staff console")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8081)
    retention = commands.add_parser("retention", help="delete old conversations")
    retention.add_argument("--days", type=int, required=True)
    retention.add_argument("--dry-run", action="store_true")
    forget = commands.add_parser("forget", help="delete one conversation everywhere")
    forget.add_argument("conversation_id")
    args = parser.parse_args(argv)
    if args.command == "roles":
        print(roles.table())
        return

    settings = Settings.from_env()
    engine = engine_for(settings.database.url)
    if args.command in ("create-user", "set-password", "deactivate-user", "set-role"):
        try:
            if args.command == "create-user":
                name = accounts.check_new_account(args.username, "x" * accounts.MIN_PASSWORD_LENGTH)
                name = accounts.create_user(engine, name, read_password(args.password_stdin), args.name,
                                            args.role).username
                print(f"Created staff account '{name}' ({roles.LABELS[args.role]}).")
                name = f"{name} ({args.role})"
            elif args.command == "set-role":
                name = accounts.set_role(engine, args.username, args.role)
                print(f"'{name}' is now {roles.LABELS[args.role]}.")
                name = f"{name} -> {args.role}"
            elif args.command == "set-password":
                name = accounts.set_password(engine, args.username, read_password(args.password_stdin))
                print(f"Password changed for '{name}'; their sessions were ended.")
            else:
                name = accounts.deactivate_user(engine, args.username)
                print(f"Deactivated '{name}': they can no longer sign in; their sessions were ended.")
        except accounts.AccountError as error:
            sys.exit(f"error: {error}")
        audit.record(engine, "command line", args.command.replace("-", "_"), None, name)
    elif args.command == "serve":
        from waitress import serve as waitress_serve

        from staff.app import create_app

        try:
            app = create_app(settings)
        except RuntimeError as error:
            sys.exit(f"error: {error}")
        print(f"Staff console: http://{args.host}:{args.port}/", flush=True)
        waitress_serve(app, host=args.host, port=args.port, threads=4, ident="staff-console")
    elif args.command == "retention":
        if args.days < 1:
            sys.exit("error: --days must be at least 1")
        old = conversations.conversations_older_than(engine, args.days)
        if args.dry_run:
            print(f"{len(old)} conversations have had no message for more than {args.days} days.")
            return
        outcome = live.forget_everywhere(settings, engine, old, "retention")
        # each deleted conversation is in the audit log (as forgotten by "retention")
        audit.record(engine, "retention", "retention", None,
                             f"{outcome.deleted} older than {args.days} days"
                             + ("" if outcome.ok else f"; stopped: {outcome.message}"))
        if not outcome.ok:
            sys.exit(f"error: {outcome.message} ({outcome.deleted} were deleted before that)")
        swept = sweep_orphan_contacts(engine)
        print(f"Deleted {outcome.deleted} conversations with no message for more than {args.days} days"
              + (f" and {swept} numbers kept for turns that were never stored." if swept else "."))
    elif args.command == "forget":
        # recorded in the audit log by the deletion itself, under a random id
        outcome = live.forget_everywhere(settings, engine, [args.conversation_id], "command line")
        if not outcome.ok:
            sys.exit(f"error: {outcome.message}")
        print("Deleted." if outcome.deleted else "No such conversation (nothing to delete).")


if __name__ == "__main__":
    main()
