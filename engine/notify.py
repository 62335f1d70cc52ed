"""E-mail for alerts with ``notification="email"``.

The SMTP server comes from the ``[smtp]`` table of the nearest ``runyard.toml``
(``host``, ``port``, ``from``, ``to``, ``user``, ``starttls``) or from the
environment (``RUNYARD_SMTP_HOST``, ``_PORT``, ``_FROM``, ``_TO``, ``_USER``,
``_PASSWORD``, ``_STARTTLS``); the environment wins. The password is only ever
read from the environment.
"""

import contextlib
import os
import smtplib
import tomllib
from email.message import EmailMessage

from .errors import RootError
from .root import find_project_file, read_project_text


def smtp_settings() -> dict:
    settings: dict = {}
    project = find_project_file()
    if project is not None:
        # never another user's file (it could send the alerts anywhere); the project
        # file's own errors are reported where it is used
        with contextlib.suppress(RootError, tomllib.TOMLDecodeError):
            settings.update(tomllib.loads(read_project_text(project)).get("smtp", {}))
        settings.pop("password", None)  # never from a file that others may read
    for key in ("host", "port", "from", "to", "user", "password", "starttls"):
        value = os.environ.get(f"RUNYARD_SMTP_{key.upper()}")
        if value:
            settings[key] = value
    return settings


def send_alert_mail(run, alert) -> None:
    """Mail the alert's new state; a failure is counted as an operational error."""
    settings = smtp_settings()
    if not settings.get("host") or not settings.get("to"):
        run._writer_error("sending alert mail", RuntimeError(
            "no SMTP server configured: set [smtp] host and to in runyard.toml or "
            "RUNYARD_SMTP_HOST and RUNYARD_SMTP_TO"))
        return
    message = EmailMessage()
    message["Subject"] = f"[runyard] {alert.name} is {alert.state} on run {run.name}"
    message["From"] = settings.get("from", f"runyard@{os.uname().nodename}")
    message["To"] = settings["to"]
    message.set_content(
        f"Alert {alert.name!r} of run {run.name} ({run.id}) is now {alert.state}.\n\n"
        f"Rule: {alert.rule or alert.source} {alert.metric or alert.pattern or ''} "
        f"{alert.threshold if alert.threshold is not None else ''}\n"
        f"Runs directory: {run.root}\n")
    try:
        with smtplib.SMTP(settings["host"], int(settings.get("port", 25)), timeout=10) as smtp:
            if str(settings.get("starttls", "")).lower() in ("1", "true", "yes"):
                smtp.starttls()
            if settings.get("user"):
                smtp.login(settings["user"], settings.get("password", ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        run._writer_error("sending alert mail", exc)
