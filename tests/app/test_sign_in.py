"""Dashboard sign-in: passwords, forced change of a one-time password, lock-out, rate limit, CSRF, sessions."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import AdminUser, AuditEvent
from app.services.access import Role
from tests.support import factories, people


def csrf_of(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def login(client, email: str, password: str, **extra):
    token = csrf_of(client.get("/login").data)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, **extra})


def events(db, action: str) -> list[AuditEvent]:
    with db.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_sign_in_with_a_password_shows_only_the_own_school(app, db, client):
    with db.session() as session:
        mine, theirs = factories.school(session, "nordby"), factories.school(session, "sorby")
        admin = people.admin(session, [(Role.SCHOOL_ICT, mine.id)], email="kari@nordby.test")
        session.commit()
    response = login(client, "Kari@Nordby.test", people.PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "nordby" in page and "sorby" not in page
    assert [event.actor for event in events(db, "auth.login")] == [admin.label]


def test_a_wrong_password_is_refused_and_audited_even_though_the_request_fails(app, db, client):
    with db.session() as session:
        people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="ola@kommune.test")
        session.commit()
    response = login(client, "ola@kommune.test", "wrong password!!")
    assert response.status_code == 401
    assert "wrong email or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not signed in
    failed = events(db, "auth.login_failed")
    assert len(failed) == 1 and failed[0].outcome == "denied" and failed[0].target_id == "ola@kommune.test"
    assert failed[0].source == "127.0.0.1"


def test_repeated_failures_lock_the_account_even_for_the_right_password(app, db, client, settings):
    with db.session() as session:
        people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="ola@kommune.test")
        session.commit()
    for _ in range(settings.login_max_failures):
        assert login(client, "ola@kommune.test", "guess-guess-guess").status_code == 401
    response = login(client, "ola@kommune.test", people.PASSWORD)
    assert response.status_code == 429
    assert "locked" in response.get_data(as_text=True)
    assert events(db, "auth.login_refused")[-1].details == {"reason": "account locked"}


def test_one_address_trying_many_accounts_must_wait(app, db, client, settings):
    app.extensions["flokk"].settings = settings.replace(login_max_failures_per_source=3)
    for number in range(3):
        assert login(client, f"nobody{number}@x.test", "guess-guess-guess").status_code == 401
    assert login(client, "someone-else@x.test", "guess-guess-guess").status_code == 429


def test_a_one_time_password_must_be_replaced_before_anything_else(app, db, client):
    with db.session() as session:
        school = factories.school(session)
        people.admin(session, [(Role.SCHOOL_ICT, school.id)], email="ny@skole.test", must_change=True)
        session.commit()
    response = login(client, "ny@skole.test", people.PASSWORD)
    assert response.headers["Location"] == "/password"
    assert client.get("/devices").headers["Location"] == "/password"
    page = client.get("/password")
    token = csrf_of(page.data)
    weak = client.post("/password", data={"current_password": people.PASSWORD, "new_password": "short",
                                          "repeat_password": "short", "csrf_token": token})
    assert weak.status_code == 422
    good = "a much longer pass phrase"
    changed = client.post("/password", data={"current_password": people.PASSWORD, "new_password": good,
                                             "repeat_password": good, "csrf_token": token})
    assert changed.status_code == 302
    assert client.get("/devices").status_code == 200
    with db.session() as session:
        assert session.scalar(select(AdminUser.must_change_password).where(AdminUser.email == "ny@skole.test")) is False
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/devices").data)})
    assert login(client, "ny@skole.test", people.PASSWORD).status_code == 401
    assert login(client, "ny@skole.test", good).status_code == 302


def test_forms_without_the_csrf_token_are_refused(app, db, client):
    with db.session() as session:
        school = factories.school(session, "nordby")
        admin = people.admin(session, [(Role.SCHOOL_ICT, school.id)])
        session.commit()
    people.sign_in(client, admin)
    response = client.post("/groups", data={"school": "nordby", "name": "7A"})
    assert response.status_code == 400
    response = client.post("/groups", data={"school": "nordby", "name": "7A", "csrf_token": "forged"})
    assert response.status_code == 400
    response = client.post("/groups", data={"school": "nordby", "name": "7A", "csrf_token": people.CSRF})
    assert response.status_code == 302
    assert client.post("/login", data={"email": "x@y.z", "password": "p"}).status_code == 400


def test_deactivating_an_admin_ends_their_session_at_once(app, db, client):
    with db.session() as session:
        school = factories.school(session)
        admin = people.admin(session, [(Role.SCHOOL_ICT, school.id)])
        session.commit()
    people.sign_in(client, admin)
    assert client.get("/devices").status_code == 200
    with db.session() as session:
        session.get(AdminUser, admin.id).is_active = False
        session.commit()
    assert client.get("/devices").headers["Location"].startswith("/login")


def test_removing_a_grant_takes_effect_on_the_next_request(app, db, client):
    with db.session() as session:
        school = factories.school(session)
        device = factories.device(session, school)
        admin = people.admin(session, [(Role.SCHOOL_ICT, school.id)])
        session.commit()
    people.sign_in(client, admin)
    assert client.get(f"/devices/{device.id}").status_code == 200
    with db.session() as session:
        for grant in list(session.get(AdminUser, admin.id).grants):
            session.delete(grant)
        session.commit()
    assert client.get(f"/devices/{device.id}").status_code == 403


def test_the_dashboard_speaks_norwegian_and_english(app, db, client):
    assert "Logg inn" in client.get("/login", headers={"Accept-Language": "nb-NO,nb;q=0.9"}).get_data(as_text=True)
    assert "Sign in to Flokk" in client.get("/login", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    token = csrf_of(client.get("/login").data)
    client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/login"})
    assert "Sign in to Flokk" in client.get("/login", headers={"Accept-Language": "nb"}).get_data(as_text=True)


def test_next_only_redirects_within_flokk(app, db, client):
    with db.session() as session:
        people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="ola@kommune.test")
        session.commit()
    response = login(client, "ola@kommune.test", people.PASSWORD, next="//evil.example/")
    assert response.headers["Location"] == "/"


def test_pages_are_never_framed_cached_or_scripted(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_changing_the_password_ends_the_other_sessions(app, db):
    with db.session() as session:
        school = factories.school(session)
        admin = people.admin(session, [(Role.SCHOOL_ICT, school.id)], email="kari@skole.test")
        session.commit()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "kari@skole.test", people.PASSWORD)
    login(phone, "kari@skole.test", people.PASSWORD)
    assert phone.get("/devices").status_code == 200
    new = "another long pass phrase"
    changed = laptop.post("/password", data={"current_password": people.PASSWORD, "new_password": new,
                                             "repeat_password": new, "csrf_token": csrf_of(laptop.get("/password").data)})
    assert changed.status_code == 302
    assert laptop.get("/devices").status_code == 200
    assert phone.get("/devices").headers["Location"].startswith("/login")
    assert admin.id


OUTSIDE_TARGETS = ["//evil.example/", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "\\\\evil.example",
                   "https://evil.example/", "evil.example", " //evil.example", "/\r/x", "/\x00/x", "javascript:alert(1)"]


def test_next_is_followed_only_to_a_path_of_flokk(app, db, client):
    """A tab or line break in ``next`` made ``//evil.example`` (browsers drop them), a CR was a 500."""
    with db.session() as session:
        admin = people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="ola@kommune.test")
        session.commit()
    for target in OUTSIDE_TARGETS:
        response = login(client, "ola@kommune.test", people.PASSWORD, next=target)
        assert (response.status_code, response.headers["Location"]) == (302, "/"), target
        signed_in_again = client.get("/login", query_string={"next": target})
        assert (signed_in_again.status_code, signed_in_again.headers["Location"]) == (302, "/"), target
        chosen = client.post("/language", data={"lang": "en", "next": target, "csrf_token": csrf_of(client.get("/password").data)})
        assert (chosen.status_code, chosen.headers["Location"]) == (302, "/"), target
        client.post("/logout", data={"csrf_token": csrf_of(client.get("/password").data)})
    assert login(client, "ola@kommune.test", people.PASSWORD, next="/devices?school=nordby#top").headers["Location"] \
        == "/devices?school=nordby#top"
    assert admin.id


def test_head_on_the_sign_in_page_is_not_a_sign_in(app, db, client):
    """HEAD /login ran the password sign-in (without CSRF) and counted as a failed attempt."""
    with db.session() as session:
        people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="ola@kommune.test")
        session.commit()
    for _ in range(3):
        response = client.head("/login", data={"email": "ola@kommune.test", "password": "guess-guess-guess"})
        assert response.status_code == 200 and response.data == b""
    assert events(db, "auth.login_failed") == []
    assert client.head("/password").status_code == 302  # not signed in: to the sign-in page, no password change


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(app, db, client):
    with db.session() as session:
        school = factories.school(session)
        people.admin(session, [(Role.SCHOOL_ICT, school.id)], email="kari@skole.test")
        session.commit()
    login(client, "kari@skole.test", people.PASSWORD)
    captured = client.get_cookie("session").value
    assert client.get("/devices").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client.get("/devices").data)}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", captured, domain="localhost")
    assert thief.get("/devices").headers["Location"].startswith("/login")


def test_a_reset_password_or_deactivation_ends_every_session(app, db, client):
    with db.session() as session:
        school = factories.school(session)
        kari = people.admin(session, [(Role.SCHOOL_ICT, school.id)], email="kari@skole.test")
        ola = people.admin(session, [(Role.CENTRAL_ADMIN, None)], email="ola@kommune.test")
        session.commit()
    central = app.test_client()
    people.sign_in(central, ola)
    for action in ("reset-password", "active"):
        people.sign_in(client, kari)
        assert client.get("/password").status_code == 200  # signed in (after the reset: must choose a password)
        form = {"csrf_token": people.CSRF} | ({"active": "0"} if action == "active" else {})
        assert central.post(f"/admins/{kari.id}/{action}", data=form).status_code in (200, 302)
        assert client.get("/password").headers["Location"].startswith("/login")


def test_behind_a_trusted_proxy_the_rate_limit_counts_the_client_not_the_proxy(app, db, client, settings):
    """With the proxy's address only, 20 failures from anyone locked out every sign-in."""
    app.extensions["flokk"].settings = settings.replace(login_max_failures_per_source=3, trusted_proxies=("10.0.0.0/8",))
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    for number in range(3):
        response = client.post("/login", environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.7, 10.0.0.9"},
                               data={"email": f"nobody{number}@x.test", "password": "guess", "csrf_token": csrf_of(client.get("/login").data)})
        assert response.status_code == 401
    token = csrf_of(client.get("/login").data)
    refused = client.post("/login", environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.7"},
                          data={"email": "x@x.test", "password": "guess", "csrf_token": token})
    assert refused.status_code == 429
    # Another client behind the same proxy is not locked out; a forged first hop changes nothing.
    other = client.post("/login", environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.4"},
                        data={"email": "x@x.test", "password": "guess", "csrf_token": token})
    assert other.status_code == 401
    assert {event.source for event in events(db, "auth.login_failed")} == {"198.51.100.7", "203.0.113.4"}
    # A client that is not a trusted proxy cannot choose its address.
    direct = client.post("/login", environ_base={"REMOTE_ADDR": "192.0.2.1"}, headers={"X-Forwarded-For": "203.0.113.99"},
                         data={"email": "x@x.test", "password": "guess", "csrf_token": token})
    assert direct.status_code == 401 and events(db, "auth.login_failed")[-1].source == "192.0.2.1"


def test_https_answers_carry_hsts_and_secrets_are_never_cached(app, db, client, settings):
    with db.session() as session:
        token = people.api_token(session, [(Role.CENTRAL_ADMIN, None)])
        admin = people.admin(session, [(Role.CENTRAL_ADMIN, None)])
        session.commit()
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/healthz", base_url="http://localhost").headers
    created = client.post("/api/v1/tokens", json={"name": "sync", "grants": [{"role": "auditor"}]}, headers=people.bearer(token))
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    reset = client.post(f"/api/v1/admins/{admin.id}/reset-password", headers=people.bearer(token))
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    people.sign_in(client, admin)
    assert client.get("/devices").headers["Cache-Control"] == "no-store"
    # Behind a trusted TLS proxy the scheme it reports counts; anyone else's does not.
    app.extensions["flokk"].settings = settings.replace(trusted_proxies=("10.0.0.5",))
    proxied = client.get("/healthz", environ_base={"REMOTE_ADDR": "10.0.0.5"}, headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in proxied.headers
    forged = client.get("/healthz", environ_base={"REMOTE_ADDR": "192.0.2.1"}, headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers
