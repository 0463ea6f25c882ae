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
