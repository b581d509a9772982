"""A naive Django + DRF proxy: the baseline the registry's REST surface is measured against.

One ``APIView`` that GETs ``/ships/<imo>`` from the upstream through one shared
``httpx.Client`` and returns its JSON, mapping nothing. Its own Django project
(``settings``, ``urls``, ``views``, ``wsgi``), served by ``gunicorn
bench.baselines.naive_proxy.wsgi``. ``BENCH_PROXY_LEAN=1`` selects the lean variant: no
middleware, the JSON renderer only. Imports nothing of the registry.
"""
