"""The systems the REST benchmark compares the registry against (``bench/rest_baselines.py``):
a naive Django + DRF proxy (``naive_proxy``, with a lean variant) and a fixed-answer nginx
upstream (``upstream``). Bench code only: nothing in the app or the tests imports it.
"""
