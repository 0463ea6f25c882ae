"""Two workers serving the same device at once: every command delivered and acknowledged exactly once."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from app.models import Command, Device
from app.services.access import cli_principal
from app.services.mdm import commands as queue
from mdm_protocol import commands
from tests.support.ipad import FlaskTransport

EXTRA = 40


def queue_more(db, udid, count):
    with db.unit_of_work() as session:
        device_id = session.scalar(select(Device.id).where(Device.udid == udid))
        for number in range(count):
            queue.enqueue(session, cli_principal(), [device_id], "DeviceLock", {"Message": f"lock {number}"})


def run_in_parallel(workers):
    errors = []

    def guarded(work):
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors


def test_two_workers_drain_one_queue_exactly_once(db, app, enrolled):
    queue_more(db, enrolled.udid, EXTRA)
    delivered: list[list[str]] = [[], []]
    statuses: Counter[int] = Counter()
    start = threading.Barrier(2)

    def worker(index):
        transport = FlaskTransport(app.test_client())
        start.wait()
        idle_streak = 0
        while idle_streak < 3:
            answer = enrolled.idle(transport)
            statuses[answer.status] += 1
            if not answer.command:
                idle_streak += 1
                continue
            idle_streak = 0
            while answer.command:
                delivered[index].append(answer.command_uuid)
                answer = enrolled.report(transport, "Acknowledged", answer.command_uuid)
                statuses[answer.status] += 1

    run_in_parallel([lambda: worker(0), lambda: worker(1)])
    everything = delivered[0] + delivered[1]
    assert set(statuses) == {200}, statuses
    assert len(everything) == len(set(everything)) == EXTRA + 4  # nothing twice, nothing missed
    assert delivered[0] and delivered[1], "both workers took part"
    with db.session() as session:
        rows = session.scalars(select(Command)).all()
        assert {(row.status, row.delivery_count) for row in rows} == {("acknowledged", 1)}


def test_the_same_answer_twice_at_once_is_recorded_once(db, app, enrolled, caplog):
    caplog.set_level("INFO", logger="flokk.mdm")
    transports = [FlaskTransport(app.test_client()) for _ in range(2)]
    rounds = 0
    while True:
        first = enrolled.idle(transports[0])
        if not first.body:
            break
        rounds += 1
        answers = []
        start = threading.Barrier(2)

        def acknowledge(transport, uuid=first.command_uuid):
            start.wait()
            answers.append(enrolled.report(transport, "Acknowledged", uuid))

        run_in_parallel([lambda: acknowledge(transports[0]), lambda: acknowledge(transports[1])])
        assert [a.status for a in answers] == [200, 200]
        handed_out = [a.command_uuid for a in answers if a.body]
        assert len(handed_out) == len(set(handed_out))  # never the same command to both
        for uuid in handed_out:  # put them back for the next round (NotNow until nothing is offered)
            answer = enrolled.report(transports[0], "NotNow", uuid)
            while answer.command:
                answer = enrolled.report(transports[0], "NotNow", answer.command_uuid)
    assert rounds == 4
    repeated = [r for r in caplog.records if r.getMessage().startswith("repeated report Acknowledged")]
    assert len(repeated) == rounds  # of each pair, exactly one answer was recorded
    with db.session() as session:
        assert {row.status for row in session.scalars(select(Command))} == {"acknowledged"}


def test_many_devices_at_once(db, app, new_ipad):
    ipads = [new_ipad() for _ in range(6)]

    def life(ipad):
        transport = FlaskTransport(app.test_client())
        assert ipad.enrol(transport).status == 200
        answer = ipad.idle(transport)
        count = 0
        while answer.command:
            count += 1
            answer = ipad.report(transport, "Acknowledged", answer.command_uuid)
            assert answer.status == 200
        assert count == len(commands.initial_inventory())

    run_in_parallel([lambda ipad=ipad: life(ipad) for ipad in ipads])
    with db.session() as session:
        assert {row.status for row in session.scalars(select(Command))} == {"acknowledged"}
