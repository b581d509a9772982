"""A test identity provider: an RSA key pair made per run, its JWKS served on 127.0.0.1.

``IdentityProvider().start()`` serves ``/jwks.json`` (the public key) and mints access
tokens (RS256 JWTs) with :meth:`IdentityProvider.token`; ``other_key=True`` signs with a
key the JWKS does not hold. No internet: the registry fetches the JWKS from here.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class IdentityProvider:
    """An issuer whose JWKS a registry under test trusts."""

    def __init__(self) -> None:
        self.key = _private_key()
        self.other = _private_key()
        self.kid = uuid.uuid4().hex[:12]
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.jwks = {"keys": [jwk]}
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/jwks.json":
                    self.send_error(404)
                    return
                owner.fetches += 1
                body = json.dumps(owner.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.url + "/"

    @property
    def jwks_url(self) -> str:
        return self.url + "/jwks.json"

    def start(self) -> IdentityProvider:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def token(
        self,
        *,
        audience: str,
        scope: str = "",
        issuer: str | None = None,
        subject: str = "agent-1",
        lifetime: float = 300,
        not_before: float | None = None,
        other_key: bool = False,
        **claims: Any,
    ) -> str:
        """An RS256 access token; ``lifetime`` < 0 makes it expired already."""
        now = time.time()
        payload: dict[str, Any] = {
            "iss": self.issuer if issuer is None else issuer,
            "sub": subject,
            "aud": audience,
            "iat": int(now),
            "exp": int(now + lifetime),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        if scope:
            payload["scope"] = scope
        if not_before is not None:
            payload["nbf"] = int(not_before)
        key = self.other if other_key else self.key
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": self.kid})
