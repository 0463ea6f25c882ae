"""Long CLI work shows its progress: a bar on a terminal, plain lines in a log; small work shows none."""

from __future__ import annotations

import io

from app.cli.progress import CliProgress
from app.services import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(stream, total: int, steps: int) -> str:
    with progress.reporting(CliProgress(stream)):
        with progress.task("pushing", total=total) as advance:
            for _ in range(steps):
                advance(total // steps)
    return stream.getvalue()


def test_plain_lines_when_not_a_terminal():
    text = run(io.StringIO(), 50_000, 10)
    lines = text.splitlines()
    assert lines[0] == "pushing: started, 50000 to do"
    assert lines[-1].startswith("pushing: 50000/50000 (100%), done in ")


def test_a_bar_on_a_terminal():
    text = run(Terminal(), 50_000, 10)
    assert "pushing" in text and "50000/50000" in text and "started" not in text


def test_small_work_and_work_outside_the_cli_show_nothing():
    assert run(io.StringIO(), 10, 10) == ""
    with progress.task("pushing", total=50_000) as advance:  # no reporter: a request or a job
        advance(50_000)


def test_a_bulk_send_from_the_cli_reports_queueing(cli, db):
    from tests.support import factories

    with db.session() as session:
        school = factories.school(session, "nordby")
        for _ in range(progress.MIN_TOTAL):
            factories.device(session, school)
        session.commit()
    cli.env = {**cli.env, "FLOKK_APPROVAL_BULK_THRESHOLD": "5000"}  # queued at once, no approval
    done = cli("command", "send", "school:nordby", "ProfileList")
    assert done.exit_code == 0, done.output
    assert "queueing ProfileList: started, 1000 to do" in done.output
    assert "queueing ProfileList: 1000/1000 (100%), done in" in done.output
    assert "Queued ProfileList for 1000 devices." in done.output
