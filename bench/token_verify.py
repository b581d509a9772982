"""What an access token costs the registry per request: ``oauth.verify`` warm and cold.

In one process, no server: an RSA key pair made for the run, its JWKS written to a
temporary file (``REGISTRY_OAUTH_JWKS_FILE``), and tokens minted for the resource
``REGISTRY_PUBLIC_URL/rest/fleet``. Measured:

1. warm: the same token verified again (the cache of verified tokens: a SHA-256 of the
   token and a dict lookup), alone and through ``admission.identify`` (the header read
   included): the budget of issue 10 is 100 µs of CPU for the whole check;
2. cold: distinct tokens, each verified once (PyJWT: header, RS256 signature with a
   2048-bit key, claims): what the first request of each token pays.

    .venv/bin/python bench/token_verify.py [--warm 200000] [--cold 500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warm", type=int, default=200_000)
    parser.add_argument("--cold", type=int, default=500)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
    from django.conf import settings
    from jwt.algorithms import RSAAlgorithm

    from capabilities_app.access import oauth
    from capabilities_app.access.admission import Door, identify

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "bench", "use": "sig", "alg": "RS256"})
    workdir = Path(tempfile.mkdtemp())
    (workdir / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    issuer = "https://idp.bench.example/"
    settings.REGISTRY_OAUTH_ISSUER = issuer
    settings.REGISTRY_OAUTH_JWKS_URL = ""
    settings.REGISTRY_OAUTH_JWKS_FILE = str(workdir / "jwks.json")
    door = Door("rest", "fleet", "fleet")

    def token(subject: str) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "sub": subject,
            "aud": door.resource,
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
            "scope": "openid email capability:fleet capability:harbour:list-ships",
        }
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench"})

    warm_token = token("agent")
    oauth.verify(warm_token, door)
    headers = {"authorization": f"Bearer {warm_token}"}
    warm = min(timeit.repeat(lambda: oauth.verify(warm_token, door), number=args.warm, repeat=5))
    warm_identify = min(timeit.repeat(lambda: identify(door, headers), number=args.warm, repeat=5))
    tokens = [token(f"agent-{n}") for n in range(args.cold)]
    started = time.process_time()
    for each in tokens:
        oauth.verify(each, door)
    cold = time.process_time() - started

    print(f"token: {len(warm_token)} bytes, RS256, 2048-bit key; Python {sys.version.split()[0]}")
    print(f"warm oauth.verify            {warm / args.warm * 1e6:8.2f} µs")
    print(f"warm admission.identify      {warm_identify / args.warm * 1e6:8.2f} µs")
    print(f"cold oauth.verify (CPU)      {cold / args.cold * 1e6:8.1f} µs")


if __name__ == "__main__":
    main()
