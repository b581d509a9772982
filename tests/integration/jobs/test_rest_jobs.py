"""Async REST calls (``Prefer: respond-async``), eager and on a real worker alike.

Every test runs in both modes (see conftest): what the caller sees must not depend on
whether a broker is configured.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.upstream import Answer

pytestmark = pytest.mark.processes  # see tests/conftest.py

PROBLEM = "application/problem+json"


def accepted(response) -> str:
    """The job's URL from a 202 answer (checked to be one)."""
    assert response.status_code == 202, response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    location = response.headers["Location"]
    job = response.json()
    assert location == f"/api/jobs/{job['id']}" == job["links"]["self"]
    assert job["status"] in ("queued", "running", "succeeded", "failed")
    return location


class TestResults:
    def test_the_result_is_what_the_synchronous_call_answers(self, stack) -> None:
        synchronous = stack.request("GET", "/rest/work/items/42")
        assert synchronous.status_code == 200

        job = stack.wait(accepted(stack.submit("GET", "/rest/work/items/42")))

        assert job["status"] == "succeeded"
        assert job["result"] == synchronous.json() == {"id": "/items/42", "method": "GET"}
        assert job["upstream_status"] == 200
        assert job["attempts"] == 1
        assert job["error"] is None
        assert (job["namespace"], job["method"], job["target"]) == ("work", "GET", "/items/{{id}}")
        assert len(stack.upstream.calls("GET", "/items/42")) == 2

    def test_a_post_body_reaches_the_upstream_as_sent(self, stack) -> None:
        stack.upstream.answer("POST", "/orders", Answer(201, {"order": 7}))
        body = {"sku": "A-1", "quantity": 2}

        job = stack.wait(accepted(stack.submit("POST", "/rest/work/orders", json=body)))

        assert (job["status"], job["upstream_status"], job["result"]) == (
            "succeeded",
            201,
            {"order": 7},
        )
        sent = stack.upstream.only()
        assert sent.json() == body
        assert sent.header("content-type") == "application/json"

    def test_an_upstream_error_fails_the_job_with_its_answer(self, stack) -> None:
        stack.upstream.answer("GET", "/items/404", Answer(404, {"message": "no such item"}))

        job = stack.wait(accepted(stack.submit("GET", "/rest/work/items/404")))

        assert job["status"] == "failed"
        assert job["upstream_status"] == 404
        assert job["result"] == {"message": "no such item"}
        assert job["error"]["code"] == "upstream_error"
        assert job["attempts"] == 1

    def test_a_missing_parameter_is_refused_now_and_makes_no_job(self, stack) -> None:
        response = stack.submit("GET", "/rest/work/search")

        assert response.status_code == 400
        assert response.headers["content-type"].startswith(PROBLEM)
        assert "Location" not in response.headers
        stack.settle()
        assert stack.upstream.received == []

    def test_credentials_are_not_kept_in_the_job(self, stack) -> None:
        secret = f"Bearer {uuid.uuid4().hex}"
        response = stack.submit(
            "GET", "/rest/work/items/1", headers={"Authorization": secret, "Cookie": "s=1"}
        )
        job_id = response.json()["id"]
        stack.wait(accepted(response), headers={"Authorization": secret})

        stored = stack.shell(
            "from capabilities_app.store.models import Job; import json; "
            f"print(json.dumps(Job.objects.values('params', 'caller').get(pk='{job_id}')))"
        )
        assert secret.split()[1] not in stored
        assert "s=1" not in stored
        assert json.loads(stored)["caller"]  # a hash identifies the caller


class TestRetries:
    def test_a_get_is_retried_on_503_until_it_succeeds(self, stack) -> None:
        stack.upstream.answer(
            "GET", "/flaky", Answer(503), Answer(503), Answer(200, {"state": "ready"})
        )

        job = stack.wait(accepted(stack.submit("GET", "/rest/work/flaky")))

        assert (job["status"], job["attempts"], job["result"]) == (
            "succeeded",
            3,
            {"state": "ready"},
        )
        assert len(stack.upstream.calls("GET", "/flaky")) == 3

    def test_a_post_is_not_retried(self, stack) -> None:
        stack.upstream.answer("POST", "/flaky", Answer(503), Answer(503), Answer(200, {}))

        job = stack.wait(accepted(stack.submit("POST", "/rest/work/flaky", json={"n": 1})))

        assert (job["status"], job["attempts"], job["upstream_status"]) == ("failed", 1, 503)
        stack.settle()
        assert len(stack.upstream.calls("POST", "/flaky")) == 1

    def test_a_post_with_an_idempotency_key_is_retried_with_it(self, stack) -> None:
        stack.upstream.answer("POST", "/flaky", Answer(503), Answer(502), Answer(201, {"id": 9}))
        key = uuid.uuid4().hex

        job = stack.wait(
            accepted(
                stack.submit(
                    "POST", "/rest/work/flaky", json={"n": 1}, headers={"Idempotency-Key": key}
                )
            )
        )

        assert (job["status"], job["attempts"], job["result"]) == ("succeeded", 3, {"id": 9})
        calls = stack.upstream.calls("POST", "/flaky")
        assert [c.header("idempotency-key") for c in calls] == [key] * 3
        assert all(c.json() == {"n": 1} for c in calls)

    def test_retries_stop_after_the_maximum(self, stack) -> None:
        stack.upstream.answer("GET", "/flaky", Answer(504))

        job = stack.wait(accepted(stack.submit("GET", "/rest/work/flaky")))

        assert (job["status"], job["attempts"], job["upstream_status"]) == ("failed", 4, 504)
        stack.settle()
        assert len(stack.upstream.calls("GET", "/flaky")) == 4  # 1 + REGISTRY_JOB_MAX_RETRIES

    def test_retry_after_is_honoured(self, stack) -> None:
        stack.upstream.answer(
            "GET", "/flaky", Answer(429, headers={"Retry-After": "1"}), Answer(200, {"ok": 1})
        )

        job = stack.wait(accepted(stack.submit("GET", "/rest/work/flaky")))

        assert (job["status"], job["attempts"]) == ("succeeded", 2)
        first, second = stack.upstream.calls("GET", "/flaky")
        assert second.at - first.at >= 0.95  # backoff alone would be ~0.05 s

    def test_a_timeout_is_retried_for_a_get(self, stack) -> None:
        stack.upstream.answer("GET", "/flaky", Answer(200, {"late": 1}, delay=2.5), Answer(200))

        job = stack.wait(accepted(stack.submit("GET", "/rest/work/flaky")))

        assert (job["status"], job["attempts"], job["upstream_status"]) == ("succeeded", 2, 200)

    def test_a_client_error_is_not_retried(self, stack) -> None:
        stack.upstream.answer("GET", "/flaky", Answer(400, {"bad": True}), Answer(200))

        job = stack.wait(accepted(stack.submit("GET", "/rest/work/flaky")))

        assert (job["status"], job["attempts"], job["upstream_status"]) == ("failed", 1, 400)


class TestIdempotency:
    def test_the_same_key_finds_the_same_job(self, stack) -> None:
        stack.upstream.answer("POST", "/orders", Answer(201, {"order": 1}))
        key = {"Idempotency-Key": uuid.uuid4().hex}

        first = stack.submit("POST", "/rest/work/orders", json={"a": 1}, headers=key)
        job = stack.wait(accepted(first))
        again = stack.submit("POST", "/rest/work/orders", json={"a": 1}, headers=key)

        assert again.json()["id"] == job["id"]
        assert again.json()["status"] == "succeeded"
        stack.settle()
        assert len(stack.upstream.calls("POST", "/orders")) == 1

    def test_concurrent_requests_with_one_key_make_one_job(self, stack) -> None:
        stack.upstream.answer("POST", "/orders", Answer(201, {"order": 2}, delay=0.2))
        key = {"Idempotency-Key": uuid.uuid4().hex}

        def send(_):
            return stack.submit("POST", "/rest/work/orders", json={"b": 1}, headers=key)

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, range(8)))

        assert {a.status_code for a in answers} == {202}
        assert len({a.json()["id"] for a in answers}) == 1
        stack.wait(answers[0].headers["Location"])
        stack.settle()
        assert len(stack.upstream.calls("POST", "/orders")) == 1

    def test_a_key_belongs_to_its_caller(self, stack) -> None:
        key = uuid.uuid4().hex
        mine = {"Idempotency-Key": key, "Authorization": "Bearer mine"}
        theirs = {"Idempotency-Key": key, "Authorization": "Bearer theirs"}

        a = stack.submit("POST", "/rest/work/orders", json={}, headers=mine).json()["id"]
        b = stack.submit("POST", "/rest/work/orders", json={}, headers=theirs).json()["id"]

        assert a != b
        stack.wait(f"/api/jobs/{a}", headers=mine)
        stack.wait(f"/api/jobs/{b}", headers=theirs)


class TestReading:
    def test_only_the_creator_reads_a_job(self, stack) -> None:
        mine = {"Authorization": "Bearer mine"}
        location = accepted(stack.submit("GET", "/rest/work/items/5", headers=mine))
        stack.wait(location, headers=mine)

        for other in ({"Authorization": "Bearer theirs"}, {}):
            response = stack.job(location, headers=other)
            assert response.status_code == 404
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["code"] == "job_not_found"
            assert stack.request("DELETE", location, headers=other).status_code == 404

    def test_an_unknown_or_malformed_id_is_404_problem(self, stack) -> None:
        for job_id in (uuid.uuid4(), "not-a-uuid"):
            response = stack.job(f"/api/jobs/{job_id}")
            assert response.status_code == 404
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["code"] == "job_not_found"

    def test_an_expired_job_is_404_and_maintenance_deletes_it(self, stack) -> None:
        location = accepted(stack.submit("GET", "/rest/work/items/6"))
        job_id = stack.wait(location)["id"]
        stack.shell(
            "from datetime import timedelta; from django.utils import timezone; "
            "from capabilities_app.store.models import Job; "
            f"Job.objects.filter(pk='{job_id}').update("
            "created_at=timezone.now() - timedelta(days=2))"
        )

        assert stack.job(location).status_code == 404
        out = stack.registry.manage("job_maintenance").stdout
        assert "deleted 1 expired jobs" in out
        count = (
            "from capabilities_app.store.models import Job; "
            "print(Job.objects.filter(pk='{}').count())"
        )
        assert stack.shell(count.format(job_id)).strip() == "0"


class TestCancelling:
    def test_a_queued_job_is_cancelled_and_never_runs(self, stack) -> None:
        # A job recorded but not yet published: the window a busy queue leaves.
        job_id = stack.shell(
            "from capabilities_app.store.models import Job; "
            "print(Job.objects.create(kind='rest', namespace='work', target='/orders', "
            "method='POST', params={'arguments': {'body': {}}}).pk)"
        ).strip()
        location = f"/api/jobs/{job_id}"

        cancelled = stack.request("DELETE", location)
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        again = stack.request("DELETE", location)
        assert again.status_code == 409
        assert again.json()["code"] == "job_not_cancellable"

        stack.shell(f"from capabilities_app.jobs import submit as jobs; jobs.publish('{job_id}')")
        stack.settle()
        assert stack.job(location).json()["status"] == "cancelled"
        assert stack.upstream.received == []

    def test_a_finished_job_cannot_be_cancelled(self, stack) -> None:
        location = accepted(stack.submit("GET", "/rest/work/items/8"))
        stack.wait(location)

        response = stack.request("DELETE", location)

        assert response.status_code == 409
        assert response.headers["content-type"].startswith(PROBLEM)


class TestTransactions:
    SUBMIT = (
        "from django.db import transaction\n"
        "from capabilities_app.jobs import submit as jobs\n"
        "class Abort(Exception):\n"
        "    pass\n"
        "submission = jobs.Submission(kind='rest', namespace='work', target='/orders',\n"
        "    method='POST', capability='job-tests', arguments={{'body': {{'tag': '{tag}'}}}})\n"
        "try:\n"
        "    with transaction.atomic():\n"
        "        job, _ = jobs.submit(submission)\n"
        "        print(job.pk)\n"
        "        if {abort}:\n"
        "            raise Abort\n"
        "except Abort:\n"
        "    pass\n"
    )

    def test_a_job_is_published_only_when_its_transaction_commits(self, stack) -> None:
        rolled_back = stack.shell(self.SUBMIT.format(tag="rolled-back", abort=True)).strip()
        committed = stack.shell(self.SUBMIT.format(tag="committed", abort=False)).strip()

        job = stack.wait(f"/api/jobs/{committed}")
        assert job["status"] == "succeeded"
        assert stack.job(f"/api/jobs/{rolled_back}").status_code == 404
        stack.settle()
        assert [c.json() for c in stack.upstream.calls("POST", "/orders")] == [{"tag": "committed"}]
