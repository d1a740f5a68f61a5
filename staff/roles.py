"""Who may do what in the staff console (issue #19).

Every staff account has one role. Every page and form of the console names the one
action it needs (``@needs("reply")`` on the view); ``staff.app`` refuses a request whose
view names none, or whose action the signed-in member's role does not include (403,
with the reason). Deny by default: a new page nobody gave an action is refused to all.

The README's table "Who may do what" is printed by ``python -m staff roles``.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

FRONT_DESK, CLINICIAN, ADMIN = "front_desk", "clinician", "admin"
ROLES = (FRONT_DESK, CLINICIAN, ADMIN)
LABELS = {FRONT_DESK: "Front desk", CLINICIAN: "Clinician", ADMIN: "Administrator"}

# action -> what it lets a member do (the README's table, in this order)
ACTIONS: dict[str, str] = {
    "sign_out": "sign out",
    "read_conversations": "list conversations and read transcripts (contact details masked)",
    "reveal_contacts": "show a transcript's or queue item's contact details (audited)",
    "reply": "reply live to a patient, hand a conversation back to the bot",
    "review": "mark a conversation reviewed",
    "queues": "see and work the handoff and booking queues",
    "improve": "see 'Improve the bot' and the training progress, mark messages",
    "export": "download conversations (CSV, JSON) and marked messages (NLU YAML)",
    "forget": "delete a conversation everywhere",
    "accounts": "create accounts, change roles, deactivate accounts",
    "propose_changes": "propose a change to the clinic's details or to an answer text, a new topic or new wordings",
    "approve_details": "approve, reject or restore the clinic's details (never one's own proposal)",
    "approve_answers": "approve, reject or restore answer texts (never one's own draft)",
    "approve_clinical_answers": "... and those about conditions, treatment, aftercare and safety",
    "approve_training": "approve or reject new topics and new wordings for the bot to learn (never one's own), withdraw them",
}

_FRONT_DESK = frozenset({"sign_out", "read_conversations", "reveal_contacts", "reply", "review",
                         "queues", "improve", "propose_changes", "approve_details", "approve_answers"})
PERMISSIONS: dict[str, frozenset[str]] = {
    FRONT_DESK: _FRONT_DESK,
    CLINICIAN: _FRONT_DESK | {"approve_clinical_answers", "approve_training"},
    ADMIN: _FRONT_DESK | {"export", "forget", "accounts"},
}
assert all(actions <= set(ACTIONS) for actions in PERMISSIONS.values())

REFUSED = "Your role ({role}) does not allow this: {action}. Ask an administrator if you need it."

View = TypeVar("View", bound=Callable[..., Any])


def needs(action: str) -> Callable[[View], View]:
    """Names the action a view needs; a view without one is refused to everyone."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; add it to staff/roles.py ACTIONS")

    def mark(view: View) -> View:
        view.needs_action = action  # type: ignore[attr-defined]
        return view

    return mark


def action_of(view: Any) -> str | None:
    return getattr(view, "needs_action", None)


def allows(role: str, action: str) -> bool:
    return action in PERMISSIONS.get(role, frozenset())


def check_role(role: str) -> str:
    name = role.strip().lower().replace("-", "_").replace(" ", "_")
    if name not in ROLES:
        raise ValueError(f"a role is one of: {', '.join(ROLES)}")
    return name


def table() -> str:
    """Who may do what, as a Markdown table."""
    lines = ["| action | " + " | ".join(LABELS[role] for role in ROLES) + " |",
             "| --- |" + " :---: |" * len(ROLES)]
    for action, text in ACTIONS.items():
        lines.append(f"| {text} | " + " | ".join("yes" if allows(role, action) else "—" for role in ROLES) + " |")
    return "\n".join(lines)
