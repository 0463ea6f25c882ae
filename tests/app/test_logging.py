import io
import json
import logging

import pytest

from app.logs import configure_logging


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("json", "INFO", stream=stream)
    yield stream
    root.handlers[:], root.level = saved


def test_json_logs_are_one_object_per_line_with_the_request_id(client, log_stream):
    response = client.get("/healthz", headers={"X-Request-Id": "trace-42"})
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    request_lines = [line for line in lines if line["logger"] == "flokk.http"]
    assert request_lines, lines
    assert all(line["request_id"] == "trace-42" for line in request_lines)
    assert request_lines[-1]["message"] == "GET /healthz 200"
    assert request_lines[-1]["status"] == 200 and "duration_ms" in request_lines[-1]
    assert response.headers["X-Request-Id"] == "trace-42"


def test_lines_outside_a_request_carry_a_dash(log_stream):
    logging.getLogger("flokk.test").warning("hello %s", "world")
    line = json.loads(log_stream.getvalue().splitlines()[-1])
    assert line["message"] == "hello world" and line["request_id"] == "-" and line["level"] == "WARNING"
