"""The fixed-answer upstream of the baselines: Debian's nginx, so the upstream is never
the bottleneck (~15 µs of CPU per answer) and is not Python.

nginx runs as a process of the benchmark's workspace (``daemon off``, one worker), with a
configuration generated in the workspace's directory (its pid file, logs and temporary
folders there: nothing of ``/etc/nginx`` or ``/var/lib/nginx`` is used or written) on a
free port of 127.0.0.1. It answers ``GET /ships/<imo>`` with exactly the JSON the demo
fleet upstream (``capabilities_app/management/demo_upstream.py``) answers for that ship,
to a request with ``Authorization: Bearer <token>`` (401 otherwise), so the
``shipyard-fleet`` fixture's mapping (``imo_number``, ``vessel_name``,
``gross_tonnage``) works against it. Without nginx, :func:`start_upstream` falls back on
the demo upstream itself and says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from bench._processes import Workspace
from capabilities_app.management.demo_upstream import SHIPS

NGINX_PATH = "/usr/sbin:/sbin"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path=NGINX_PATH)


def _quoted(text: str) -> str:
    """``text`` as an nginx single-quoted string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def nginx_config(workdir: Path, port: int, token: str) -> str:
    """The whole configuration: one server, a fixed answer per ship of the demo fleet."""
    temps = ""
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        folder = workdir / f"nginx-{temp}"
        folder.mkdir(exist_ok=True)
        temps += f"    {temp}_temp_path {folder};\n"
    ships = ""
    for ship in SHIPS:
        ships += f"""
        location = /ships/{ship["imo_number"]} {{
            if ($http_authorization != "Bearer {token}") {{
                return 401 {_quoted(json.dumps({"error": "missing or bad token"}))};
            }}
            return 200 {_quoted(json.dumps(ship))};
        }}"""
    # Run as root, the worker would switch to "nobody", who cannot read the workspace.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temps}    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port};
        default_type application/json;{ships}
        location / {{
            return 404 {_quoted(json.dumps({"error": "no such resource"}))};
        }}
    }}
}}
"""


def start_upstream(workspace: Workspace, port: int) -> tuple[subprocess.Popen, str]:
    """The upstream on ``port``, expecting the workspace's ``FLEET_TOKEN``: nginx, else the
    Python demo upstream; the process and what it is (for the output)."""
    binary = nginx_binary()
    if binary is None:
        process = workspace.start_upstream(port)
        return process, "Python demo upstream (manage.py run_demo_upstream): nginx NOT FOUND"
    config = workspace.workdir / "nginx.conf"
    config.write_text(nginx_config(workspace.workdir, port, workspace.token))
    command = [binary, "-p", str(workspace.workdir), "-c", str(config)]
    command += ["-e", str(workspace.workdir / "nginx-error.log")]
    version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()
    process = workspace.spawn("upstream", command)  # SIGTERM: nginx's fast shutdown
    return process, f"{version.removeprefix('nginx version: ')} ({binary}), fixed answers"
