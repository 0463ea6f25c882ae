import pytest

from app.errors import FlokkError
from app.scheduler import Job, SchedulerLock, run_job
from tests.support import count_rows, factories


def test_only_one_scheduler_runs_per_database(db):
    first, second = SchedulerLock(db), SchedulerLock(db)
    first.acquire()
    try:
        with pytest.raises(FlokkError, match="already running"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()


def test_a_job_runs_in_its_own_unit_of_work(db):
    run_job(db, Job("make-school", lambda session: factories.school(session), seconds=60))
    assert count_rows(db, "schools") == 1


def test_a_failing_job_is_logged_and_rolled_back(db, caplog):
    def failing(session):
        factories.school(session)
        raise RuntimeError("job broke")

    run_job(db, Job("failing", failing, seconds=60))
    assert count_rows(db, "schools") == 0
    assert "job failing failed" in caplog.text


def test_job_runs_and_failures_are_counted_and_served_to_a_scraper(db):
    import socket
    import urllib.error
    import urllib.request

    from app.scheduler import serve_metrics
    from tests.app.test_metrics import samples

    def failing(session):
        raise RuntimeError("job broke")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = serve_metrics(f"127.0.0.1:{port}", "scheduler-token-0123456789")
    try:
        def scrape() -> dict:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                             headers={"Authorization": "Bearer scheduler-token-0123456789"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return samples(response.read().decode())

        before = scrape()
        run_job(db, Job("counted", lambda session: None, seconds=60))
        run_job(db, Job("counted", failing, seconds=60))
        run_job(db, Job("counted", lambda session: None, seconds=60))
        after = scrape()
        for outcome, times in (("success", 2), ("failure", 1)):
            key = ("flokk_scheduler_job_runs_total", (("job", "counted"), ("outcome", outcome)))
            assert after[key] - before.get(key, 0) == times
        key = ("flokk_scheduler_job_duration_seconds_count", (("job", "counted"),))
        assert after[key] - before.get(key, 0) == 3
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert refused.value.code == 401
    finally:
        server.shutdown()
        server.server_close()
