"""The command line: ``manage.py`` commands (thin: parse flags, call the domain, print).

An edge that wires the surfaces: it may import every layer, and ``run_mcp_server``
starts the ``mcp`` surface. ``paths`` expands file arguments, ``console`` prints import
runs, ``demo_upstream`` is the demo's fleet API.
"""
