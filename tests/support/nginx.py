"""nginx as a test's own process, running the sample configuration of ``docs/nginx.conf``.

The sample is rendered for the test: its ports, addresses, certificate and static
folder are replaced by the test's (each replaced text must be in the sample, so the
test notices when the documentation changes), and it is included from a minimal
main configuration with a prefix, pid file, logs and temporary folders of its own:
nothing of the machine's nginx (``/etc/nginx``, ``/var/lib/nginx``) is written, and it
runs in the foreground (``daemon off``) so the test can stop it.

nginx and openssl are looked up on the PATH (and in ``/usr/sbin``); a machine without
them skips the tests that need them, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT
from tests.support.brokers import unavailable
from tests.support.processes import ProcessFailed, free_port, wait_listening

SAMPLE = ROOT / "docs" / "nginx.conf"


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        unavailable(f"{name} is not installed (Debian: apt-get install -y {name})")
    return found


def self_signed_certificate(folder: Path, *names: str) -> tuple[Path, Path]:
    """A throwaway certificate (and key) for ``names``, made with the openssl command."""
    certificate, key = folder / "fullchain.pem", folder / "privkey.pem"
    subject_names = ",".join(f"DNS:{name}" for name in names)
    subprocess.run(
        [
            _binary("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={names[0]}",
            "-addext",
            f"subjectAltName={subject_names}",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


class Nginx:
    """The sample configuration, rendered with ``replacements``, served by nginx on free ports."""

    def __init__(self, workdir: Path, replacements: dict[str, str]) -> None:
        self.binary = _binary("nginx")
        self.workdir = workdir
        self.http_port = free_port()
        self.https_port = free_port()
        sample = SAMPLE.read_text()
        replacements = {
            "listen 80;": f"listen 127.0.0.1:{self.http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{self.https_port} ssl;",
            **replacements,
        }
        for old, new in replacements.items():
            if old not in sample:
                raise AssertionError(f"docs/nginx.conf no longer contains {old!r}")
            sample = sample.replace(old, new)
        (workdir / "registry.conf").write_text(sample)
        for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            (workdir / temp).mkdir(exist_ok=True)
        mime_types = Path("/etc/nginx/mime.types")
        # Run as root (CI containers), the workers would switch to "nobody", who cannot
        # read the test's private temporary folder: they stay the user that started them.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (workdir / "nginx.conf").write_text(
            f"""{user}daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/logs/error.log warn;
events {{ worker_connections 512; }}
http {{
    {f"include {mime_types};" if mime_types.exists() else ""}
    default_type application/octet-stream;
    access_log {workdir}/logs/access.log;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {workdir}/registry.conf;
}}
"""
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> Nginx:
        command = [self.binary, "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf")]
        command += ["-e", str(self.workdir / "logs" / "error.log")]
        tested = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if tested.returncode != 0:
            raise AssertionError(f"nginx -t refused the rendered sample:\n{tested.stderr}")
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_listening(self.process, self.https_port, timeout=15, what="nginx did not start")
        except ProcessFailed:
            raise AssertionError("nginx did not start:\n" + self.log()) from None
        return self

    def log(self) -> str:
        path = self.workdir / "logs" / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
