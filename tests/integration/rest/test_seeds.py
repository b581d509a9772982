"""Both seeds end to end: every REST operation reaches the right upstream method and path."""

from __future__ import annotations

import json

import pytest

from capabilities_app.store.models import ExposedOperation
from tests.conftest import NETBIRD, PREFECT
from tests.integration.rest.conftest import load

pytestmark = pytest.mark.django_db

PREFECT_ROUTES = [
    ("POST", "cancel-org-subscription", "cancel_org_subscription", False),
    ("POST", "create-billing-portal-session", "create_billing_portal_session", True),
    ("GET", "details", "details", False),
    ("POST", "manage-subscription", "manage_subscription", True),
    ("POST", "subscribe", "subscribe", True),
    ("GET", "subscription-restrictions", "subscription_restrictions", False),
    ("POST", "update-slots", "update_slots", True),
    ("POST", "validate-subscription-status", "validate_subscription_status", True),
]


def test_the_table_covers_every_prefect_operation():
    load(PREFECT)
    served = {
        (op.method, op.resource.path.rsplit("/", 1)[1])
        for op in ExposedOperation.objects.filter(
            resource__expose__namespace="prefect-account-billing-rest"
        )
    }
    assert served == {(method, exposed) for method, exposed, _, _ in PREFECT_ROUTES}


@pytest.mark.parametrize(("method", "exposed", "upstream_path", "with_body"), PREFECT_ROUTES)
def test_prefect_operation_reaches_its_upstream(
    api, upstream, method, exposed, upstream_path, with_body
):
    load(PREFECT, base_uri=upstream.url)
    body = {"slots": 3} if with_body else None
    response = api.generic(
        method,
        f"/rest/prefect-account-billing-rest/v1/api/billing/acc-42/{exposed}",
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    received = upstream.only()
    assert received.method == method
    assert received.path == f"/api/billing/acc-42/{upstream_path}"
    assert received.json() == body
    # The seed maps {type: object, mapping: $.}: the upstream's answer as it came.
    assert response.json()["path"] == received.path


def test_netbird_checkout_sends_the_bearer_token_from_the_environment(api, upstream, monkeypatch):
    monkeypatch.setenv("NETBIRD_API_KEY", "nb-key-123")
    load(NETBIRD, base_uri=upstream.url)
    body = {"plan_tier": "team", "success_url": "https://example.org/ok"}
    response = api.post(
        "/rest/netbird-checkout-rest/v1/api/integrations/billing/checkout",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    received = upstream.only()
    assert (received.method, received.path) == ("POST", "/api/integrations/billing/checkout")
    assert received.header("authorization") == "Bearer nb-key-123"
    assert received.json() == body


def test_netbird_without_its_key_is_503(api, upstream, monkeypatch):
    monkeypatch.delenv("NETBIRD_API_KEY", raising=False)
    load(NETBIRD, base_uri=upstream.url)
    response = api.post(
        "/rest/netbird-checkout-rest/v1/api/integrations/billing/checkout",
        data="{}",
        content_type="application/json",
    )
    assert response.status_code == 503
    assert "NETBIRD_API_KEY" in response.json()["detail"]
    assert upstream.received == []
