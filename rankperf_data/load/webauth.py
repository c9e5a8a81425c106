"""Optional login for the Locust web UI (``--web-login``), one user from environment variables.

Locust's ``--web-login`` only turns Flask-Login on; the application has to supply the rest
(notes §5.2): a user loader, the Flask ``SECRET_KEY`` that signs the session cookie, the login
page's ``auth_args`` and the ``/login_submit`` route. This module does that for one account:

- ``RANKPERF_WEB_USER`` / ``RANKPERF_WEB_PASSWORD``: the credentials. No defaults are shipped:
  with ``--web-login`` and either of them unset, Locust refuses to start (exit code 2).
- ``RANKPERF_WEB_SECRET_KEY`` (optional): signs the session cookie; without it a random key is
  made per process, so sessions end when Locust restarts.

Passwords are compared with ``hmac.compare_digest``; the session cookie is HttpOnly,
SameSite=Strict (a page on another origin cannot ride on it, despite Locust's permissive CORS)
and Secure when Locust serves TLS. A login over plain HTTP sends the password in clear text:
use ``--tls-cert``/``--tls-key`` or an SSH tunnel when the UI is not on loopback.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import sys
from collections.abc import Mapping

log = logging.getLogger("rankperf")

USER_ENV = "RANKPERF_WEB_USER"
PASSWORD_ENV = "RANKPERF_WEB_PASSWORD"
SECRET_KEY_ENV = "RANKPERF_WEB_SECRET_KEY"
FAILED_LOGIN_DELAY_S = 0.5  # slows guessing (per attempt; other requests are not held up)
MIN_SECRET_KEY_LEN = 32


class LoginConfigError(ValueError):
    """--web-login is on but the credentials are missing or unusable."""


def credentials(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(user, password) from the environment, or LoginConfigError saying what is missing."""
    env = os.environ if env is None else env
    user, password = env.get(USER_ENV, ""), env.get(PASSWORD_ENV, "")
    missing = [name for name, value in ((USER_ENV, user), (PASSWORD_ENV, password)) if not value]
    if missing:
        raise LoginConfigError(
            f"--web-login needs {' and '.join(missing)} in the environment (no default credentials are shipped)")
    return user, password


def secret_key(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    key = env.get(SECRET_KEY_ENV, "")
    if key and len(key) < MIN_SECRET_KEY_LEN:
        raise LoginConfigError(f"{SECRET_KEY_ENV} must be at least {MIN_SECRET_KEY_LEN} characters")
    return key or secrets.token_hex(32)


def matches(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings (as UTF-8 bytes)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check(user: str, password: str, expected: tuple[str, str]) -> bool:
    """Both comparisons always run, so the time taken says nothing about which one failed."""
    user_ok = matches(user, expected[0])
    password_ok = matches(password, expected[1])
    return user_ok and password_ok


def _configure_cookies(app, key: str, tls: bool) -> None:
    """Signed session cookies, never readable by scripts nor sent cross-site; Secure over TLS."""
    app.config.update(
        SECRET_KEY=key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=tls,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Strict",
        REMEMBER_COOKIE_SECURE=tls,
    )


def install(environment) -> bool:
    """Set up login when Locust runs with --web-login; returns whether it did.

    Called from the web UI's installation in the ``init`` event, before the server starts. With
    --web-login and no credentials configured this exits with status 2: a UI that believes it is
    protected must not come up unprotected or with a guessable account.
    """
    web_ui = environment.web_ui
    if web_ui is None or not getattr(web_ui, "web_login", False):
        return False
    try:
        expected = credentials()
        key = secret_key()
    except LoginConfigError as exc:
        sys.stderr.write(f"rankperf: error: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(2) from None

    from flask import Blueprint, redirect, request, session, url_for
    from flask_login import UserMixin, login_user, logout_user

    class WebUser(UserMixin):
        def __init__(self, user_id: str) -> None:
            self.id = user_id

    def load_user(user_id: str):
        return WebUser(user_id) if matches(str(user_id), expected[0]) else None

    app = web_ui.app
    options = environment.parsed_options
    base = (getattr(options, "web_base_path", "") or "").rstrip("/")
    _configure_cookies(app, key, tls=bool(getattr(options, "tls_cert", None) and getattr(options, "tls_key", None)))
    web_ui.login_manager.user_loader(load_user)
    web_ui.auth_args = {"username_password_callback": f"{base}/login_submit", "title": "rankperf"}

    auth = Blueprint("rankperf_auth", __name__, url_prefix=base or None)

    @auth.route("/login_submit", methods=["POST"])
    def login_submit():
        user = request.form.get("username", "")
        password = request.form.get("password", "")
        if check(user, password, expected):
            login_user(WebUser(expected[0]))
            return redirect(url_for("locust.index"))
        import gevent

        gevent.sleep(FAILED_LOGIN_DELAY_S)
        log.warning("rankperf: failed web UI login from %s", request.remote_addr)
        session["auth_error"] = "Invalid username or password"
        return redirect(url_for("locust.login"))

    @auth.route("/logout", methods=["GET", "POST"])
    def logout():
        logout_user()
        session.clear()
        return redirect(url_for("locust.login"))

    app.register_blueprint(auth)
    log.info("rankperf: web UI login enabled for user %r", expected[0])
    return True
