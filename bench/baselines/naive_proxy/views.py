"""The naive proxy's view: the upstream's answer, as JSON, through one shared client."""

from __future__ import annotations

import httpx
from django.conf import settings
from rest_framework.response import Response
from rest_framework.views import APIView

# One client for every thread of the worker (httpx.Client is thread-safe), as the
# registry has one.
CLIENT = httpx.Client(timeout=10.0)
HEADERS = {"Authorization": f"Bearer {settings.UPSTREAM_TOKEN}"}


class ShipView(APIView):
    def get(self, request, imo: str) -> Response:
        answer = CLIENT.get(f"{settings.UPSTREAM_URL}/ships/{imo}", headers=HEADERS)
        return Response(answer.json(), status=answer.status_code)
