from app import __version__, create_app


def test_healthz_reports_a_reachable_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "version": __version__}
    assert response.headers["X-Request-Id"]


def test_healthz_is_503_when_the_database_is_unreachable(settings, tmp_path):
    broken = settings.replace(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    response = create_app(broken).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "error"


def test_unknown_paths_are_a_json_404_not_a_500(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_a_body_over_the_limit_is_refused_with_413(app):
    from flask import request

    app.config["MAX_CONTENT_LENGTH"] = 1024
    app.add_url_rule("/echo", "echo", lambda: str(len(request.get_data())), methods=["POST"])
    client = app.test_client()
    assert client.post("/echo", data=b"x" * 1000).status_code == 200
    response = client.post("/echo", data=b"x" * 4096)
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"


def test_an_offered_request_id_is_kept_and_a_hostile_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-Id": "a b;<script>"}).headers["X-Request-Id"]
    assert replaced != "a b;<script>" and len(replaced) == 32


def test_a_unique_clash_inside_a_view_is_a_409_and_rolls_back(app, db):
    from sqlalchemy import func, select

    from app.http import db_session
    from app.models import Organisation

    def clash():
        session = db_session()
        session.add(Organisation(name="Same"))
        session.flush()
        session.add(Organisation(name="Same"))
        session.flush()
        return "unreachable"

    app.add_url_rule("/clash", "clash", clash, methods=["POST"])
    response = app.test_client().post("/clash")
    assert response.status_code == 409 and response.json["error"] == "conflict"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
