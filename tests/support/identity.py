"""A test identity provider: an RSA key pair made per run, its JWKS served on 127.0.0.1.

``IdentityProvider().start()`` serves ``/jwks.json`` (the public key) and mints access
tokens (RS256 JWTs) with :meth:`IdentityProvider.token`; ``other_key=True`` signs with a
key the JWKS does not hold. No internet: the registry fetches the JWKS from here.

:meth:`IdentityProvider.forged` makes the tokens an attacker would try (``alg: none``,
HS256 keyed with the public key); :meth:`IdentityProvider.rotate` publishes a new key
under a new ``kid``; ``available = False`` makes the JWKS endpoint answer 503.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
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
        self.available = True
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/jwks.json":
                    self.send_error(404)
                    return
                owner.fetches += 1
                if not owner.available:
                    self.send_error(503)
                    return
                body = json.dumps(owner.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

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

    def rotate(self) -> None:
        """A new signing key under a new kid; the JWKS serves only the new one."""
        self.key = _private_key()
        self.kid = uuid.uuid4().hex[:12]
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.jwks = {"keys": [jwk]}

    def claims(
        self, *, audience: str, scope: str = "", lifetime: float = 300, **claims: Any
    ) -> dict[str, Any]:
        now = time.time()
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "agent-1",
            "aud": audience,
            "iat": int(now),
            "exp": int(now + lifetime),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        if scope:
            payload["scope"] = scope
        return payload

    def forged(self, alg: str, *, audience: str, scope: str = "", **claims: Any) -> str:
        """A token an attacker makes without the private key, its claims otherwise valid.

        ``none``: unsigned. ``HS256``: an HMAC keyed with the issuer's public key (as PEM),
        the classic algorithm confusion. ``HS256-n``: keyed with the JWK's modulus text.
        """
        header = {"alg": alg.split("-")[0], "typ": "JWT", "kid": self.kid}
        payload = self.claims(audience=audience, scope=scope, **claims)
        signing_input = f"{_b64(json.dumps(header))}.{_b64(json.dumps(payload))}"
        if alg == "none":
            return signing_input + "."
        if alg == "HS256":
            secret = self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        elif alg == "HS256-n":
            secret = self.jwks["keys"][0]["n"].encode()
        else:
            raise ValueError(alg)
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"

    def write_jwks(self, path) -> str:
        """The JWKS as a file (REGISTRY_OAUTH_JWKS_FILE); its path."""
        path.write_text(json.dumps(self.jwks))
        return str(path)

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
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """An RS256 access token; ``lifetime`` < 0 makes it expired already.

        A claim given as None is left out (``subject=None``, ``exp=None``); ``kid`` names
        another key id than the published one.
        """
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
        payload = {name: value for name, value in payload.items() if value is not None}
        key = self.other if other_key else self.key
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid or self.kid})


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
