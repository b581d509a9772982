"""Access tokens (JWT) verified by ``oauth.verify``: what passes, and what an attacker tries.

The issuer's keys come from a JWKS file here (no network); the integration tests fetch
them from a JWKS URL on 127.0.0.1. Tokens are minted with ``tests/support/identity.py``.
"""

from __future__ import annotations

import base64
import json
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from capabilities_app.access import oauth
from capabilities_app.access.admission import Door
from capabilities_app.access.clients import Grants
from capabilities_app.core.errors import InvalidToken, KeysUnavailable
from tests.support.identity import IdentityProvider

REST = Door("rest", "billing", "billing-cap")
OTHER_REST = Door("rest", "orders", "orders-cap")
MCP = Door("mcp", "billing-mcp", "billing-cap")


@pytest.fixture(scope="module")
def idp():
    provider = IdentityProvider()  # not started: the JWKS is read from a file here
    yield provider
    provider.server.server_close()


@pytest.fixture
def issuer(idp, settings, tmp_path):
    """The registry trusts ``idp``, its keys read from a JWKS file."""
    settings.REGISTRY_OAUTH_ISSUER = idp.issuer
    settings.REGISTRY_OAUTH_JWKS_URL = ""
    settings.REGISTRY_OAUTH_JWKS_FILE = idp.write_jwks(tmp_path / "jwks.json")
    settings.REGISTRY_PUBLIC_URL = "https://api.example.test"
    settings.REGISTRY_MCP_PUBLIC_URL = "https://mcp.example.test"
    oauth.reset()
    yield idp
    oauth.reset()


def refused(token: str, door: Door = REST) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        oauth.verify(token, door)
    error = caught.value
    assert error.status == 401
    assert error.code == "invalid_token"
    assert 'error="invalid_token"' in error.challenge
    assert f'resource_metadata="{door.metadata_url}"' in error.challenge
    assert token not in error.detail
    assert token not in error.challenge
    signature = token.split(".")[-1]
    assert len(signature) < 16 or signature not in error.detail + error.challenge
    return error


class TestConfigured:
    def test_an_issuer_and_a_jwks_url_or_file(self, settings):
        """Issue 10 point 3: OAuth is on only with an issuer and where its keys are."""
        settings.REGISTRY_OAUTH_ISSUER = "https://idp.example/"
        settings.REGISTRY_OAUTH_JWKS_URL = ""
        settings.REGISTRY_OAUTH_JWKS_FILE = ""
        assert not oauth.configured()
        settings.REGISTRY_OAUTH_JWKS_URL = "https://idp.example/jwks.json"
        assert oauth.configured()
        settings.REGISTRY_OAUTH_JWKS_URL = ""
        settings.REGISTRY_OAUTH_JWKS_FILE = "/etc/registry/jwks.json"
        assert oauth.configured()
        settings.REGISTRY_OAUTH_ISSUER = ""
        assert not oauth.configured()

    def test_looks_like_token(self):
        """Issue 10 point 3: three dot-separated parts are a JWT's shape; a key is not."""
        assert oauth.looks_like_token("aaa.bbb.ccc")
        assert oauth.looks_like_token("aaa.bbb.")
        assert not oauth.looks_like_token("crk_1a2b3c4d_" + "x" * 43)
        assert not oauth.looks_like_token("a.b")


class TestValidToken:
    def test_a_client_named_by_issuer_and_subject(self, issuer):
        """Issue 10 point 3: a valid token is a client "token:<iss> <sub>" of kind token."""
        token = issuer.token(audience=REST.resource, scope="capability:billing-cap")
        client = oauth.verify(token, REST)
        assert client.id == f"token:{issuer.issuer} agent-1"
        assert client.name == "agent-1"
        assert client.kind == "token"
        assert client.grants == Grants(whole=frozenset({"billing-cap"}))

    def test_an_audience_list_that_holds_the_resource(self, issuer):
        """Issue 10 point 3: ``aud`` may be a list; it must contain the resource (RFC 8707)."""
        token = issuer.token(audience=["https://other.example", REST.resource])
        assert oauth.verify(token, REST).name == "agent-1"

    def test_the_mcp_resource_is_its_own_audience(self, issuer):
        """Issue 10 point 3: the MCP door's resource is REGISTRY_MCP_PUBLIC_URL/mcp/<ns>."""
        token = issuer.token(audience="https://mcp.example.test/mcp/billing-mcp")
        assert oauth.verify(token, MCP).name == "agent-1"

    def test_small_clock_skew_is_tolerated(self, issuer):
        """Issue 10 point 3: exp and nbf have a leeway of LEEWAY_SECONDS (docs/access.md)."""
        now = time.time()
        assert oauth.LEEWAY_SECONDS == 30
        just_expired = issuer.token(audience=REST.resource, lifetime=-10)
        assert oauth.verify(just_expired, REST).name == "agent-1"
        almost_valid = issuer.token(audience=REST.resource, not_before=now + 10)
        assert oauth.verify(almost_valid, REST).name == "agent-1"

    @pytest.mark.parametrize(
        ("make_key", "algorithm", "to_jwk"),
        [
            (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256", ECAlgorithm.to_jwk),
            (ed25519.Ed25519PrivateKey.generate, "EdDSA", OKPAlgorithm.to_jwk),
        ],
    )
    def test_ec_and_eddsa_keys(self, issuer, settings, tmp_path, make_key, algorithm, to_jwk):
        """Issue 10 point 3: ES256 and EdDSA keys of the JWKS verify their tokens."""
        key = make_key()
        jwk = json.loads(to_jwk(key.public_key()))
        jwk.update({"kid": "k-" + algorithm, "use": "sig"})
        path = tmp_path / f"{algorithm}.json"
        path.write_text(json.dumps({"keys": [jwk]}))
        settings.REGISTRY_OAUTH_JWKS_FILE = str(path)
        token = jwt.encode(
            issuer.claims(audience=REST.resource),
            key,
            algorithm=algorithm,
            headers={"kid": "k-" + algorithm},
        )
        assert oauth.verify(token, REST).name == "agent-1"


class TestScopes:
    def scopes(self, issuer, **claims) -> Grants:
        return oauth.verify(issuer.token(audience=REST.resource, **claims), REST).grants

    def test_capability_scopes_grant_and_others_are_ignored(self, issuer):
        """Issue 10 point 3: capability:NAME grants it all, capability:NAME:TARGET one name."""
        grants = self.scopes(
            issuer,
            scope="openid profile capability:billing-cap:get-invoice capability:orders-cap "
            "capability: billing-cap capability:billing-cap:",
        )
        assert grants.allows("billing-cap", "get-invoice")
        assert not grants.allows("billing-cap", "cancel")
        assert grants.allows("orders-cap", "anything")
        assert grants == Grants(
            whole=frozenset({"orders-cap"}),
            targets=frozenset({("billing-cap", "get-invoice")}),
        )

    def test_scp_as_a_list(self, issuer):
        """Issue 10 point 3: ``scp`` (a list, as some issuers send) is read like ``scope``."""
        grants = self.scopes(issuer, scp=["capability:billing-cap:get-invoice", "email"])
        assert grants == Grants(targets=frozenset({("billing-cap", "get-invoice")}))

    def test_no_scope_grants_nothing(self, issuer):
        """Issue 10 point 3: a token without capability scopes is a client with no grant."""
        assert self.scopes(issuer) == Grants()


class TestRefused:
    def test_expired(self, issuer):
        """Issue 10 point 3: a token past exp (beyond the leeway) is refused."""
        error = refused(issuer.token(audience=REST.resource, lifetime=-120))
        assert "expired" in error.detail

    def test_not_yet_valid(self, issuer):
        """Issue 10 point 3: a token before its nbf (beyond the leeway) is refused."""
        error = refused(issuer.token(audience=REST.resource, not_before=time.time() + 600))
        assert "not valid yet" in error.detail

    def test_no_exp(self, issuer):
        """Issue 10 point 3: a token that never expires is not accepted."""
        refused(issuer.token(audience=REST.resource, exp=None))

    def test_no_subject(self, issuer):
        """Issue 10 point 3: a token without ``sub`` names no client."""
        refused(issuer.token(audience=REST.resource, subject=None))

    @pytest.mark.parametrize(
        "audience",
        [
            "https://mcp.example.test/mcp/billing-mcp",  # the MCP resource, not this one
            "https://api.example.test/rest/orders",  # another namespace
            "https://api.example.test/rest/billing/",  # not the same string
            "https://api.example.test/rest",
            "https://api.example.test",
        ],
    )
    def test_another_audience(self, issuer, audience):
        """Issue 10 point 3: aud must hold this resource's own URL (RFC 8707)."""
        error = refused(issuer.token(audience=audience))
        assert "audience" in error.detail

    def test_no_audience(self, issuer):
        """Issue 10 point 3: a token for no audience is a token for none of ours."""
        refused(issuer.token(audience=None))

    def test_another_issuer(self, issuer):
        """Issue 10 point 3: iss must be REGISTRY_OAUTH_ISSUER."""
        error = refused(issuer.token(audience=REST.resource, issuer="https://evil.example/"))
        assert "not issued by" in error.detail

    def test_signed_by_another_key(self, issuer):
        """Issue 10 point 3: the published kid with a key the JWKS does not hold."""
        error = refused(issuer.token(audience=REST.resource, other_key=True))
        assert "signature" in error.detail

    def test_an_unknown_kid(self, issuer):
        """Issue 10 point 3: a kid the JWKS does not hold is refused."""
        error = refused(issuer.token(audience=REST.resource, kid="not-published"))
        assert "key" in error.detail

    @pytest.mark.parametrize("alg", ["none", "HS256", "HS256-n"])
    def test_forged_algorithms(self, issuer, alg):
        """Issue 10 point 3: alg none, and HS256 keyed with the public key, never pass."""
        refused(issuer.forged(alg, audience=REST.resource, scope="capability:billing-cap"))

    def test_a_symmetric_key_in_the_jwks_is_never_used(self, issuer, settings, tmp_path):
        """Issue 10 point 3: even an ``oct`` key the issuer publishes cannot sign for it."""
        secret = b"published-by-mistake-0123456789abcdef"
        jwk = {
            "kty": "oct",
            "kid": "sym",
            "alg": "HS256",
            "k": base64.urlsafe_b64encode(secret).rstrip(b"=").decode(),
        }
        path = tmp_path / "sym.json"
        path.write_text(json.dumps({"keys": [jwk, *issuer.jwks["keys"]]}))
        settings.REGISTRY_OAUTH_JWKS_FILE = str(path)
        token = jwt.encode(
            issuer.claims(audience=REST.resource), secret, algorithm="HS256", headers={"kid": "sym"}
        )
        refused(token)

    def test_the_key_decides_its_algorithm(self, issuer):
        """Issue 10 point 3: an RS256 key does not verify a PS256 token (one alg per key)."""
        token = jwt.encode(
            issuer.claims(audience=REST.resource),
            issuer.key,
            algorithm="PS256",
            headers={"kid": issuer.kid},
        )
        refused(token)

    @pytest.mark.parametrize(
        "token", ["a.b.c", "not-base64!.x.y", "e30.e30.", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"]
    )
    def test_garbage(self, issuer, token):
        """Issue 10 point 3: what is no JWT at all is an invalid token, not a 500."""
        refused(token)


class TestKeys:
    def test_the_jwks_file_is_read_once(self, issuer, settings):
        """Issue 10 point 3: REGISTRY_OAUTH_JWKS_FILE is read once, not per request."""
        oauth.verify(issuer.token(audience=REST.resource), REST)
        with open(settings.REGISTRY_OAUTH_JWKS_FILE, "w") as file:
            file.write("{}")
        assert oauth.verify(issuer.token(audience=REST.resource), REST).name == "agent-1"

    def test_a_missing_jwks_file_is_503_logged_once(self, issuer, settings, caplog):
        """Issue 10 point 3: keys that cannot be read are the registry's fault: 503."""
        settings.REGISTRY_OAUTH_JWKS_FILE = "/nonexistent/jwks.json"
        token = issuer.token(audience=REST.resource)
        with caplog.at_level(logging.WARNING, logger="capabilities_app.access.oauth"):
            for _ in range(3):
                with pytest.raises(KeysUnavailable) as caught:
                    oauth.verify(token, REST)
                assert (caught.value.status, caught.value.code) == (503, "jwks_unavailable")
                assert token not in caught.value.detail
        records = [r for r in caplog.records if r.name == "capabilities_app.access.oauth"]
        assert len(records) == 1
        assert token not in records[0].getMessage()

    @pytest.mark.parametrize("content", ["not json", "[]", '{"keys": []}', '{"keys": [{}]}'])
    def test_an_unusable_jwks_file_is_503(self, issuer, settings, tmp_path, content):
        """Issue 10 point 3: a JWKS without a usable key is a configuration fault: 503."""
        path = tmp_path / "bad.json"
        path.write_text(content)
        settings.REGISTRY_OAUTH_JWKS_FILE = str(path)
        with pytest.raises(KeysUnavailable):
            oauth.verify(issuer.token(audience=REST.resource), REST)


class TestCache:
    def test_a_warm_token_is_not_verified_again(self, issuer, monkeypatch):
        """Issue 10 point 3: a verified token is kept (by its hash) until it expires."""
        token = issuer.token(audience=REST.resource, scope="capability:billing-cap")
        first = oauth.verify(token, REST)

        def no_decode(*args, **kwargs):
            raise AssertionError("verified again")

        monkeypatch.setattr(oauth.jwt, "decode", no_decode)
        assert oauth.verify(token, REST) is first

    def test_a_cached_token_still_needs_the_resource_as_audience(self, issuer):
        """Issue 10 point 3: the cache never lets a token in at another door."""
        token = issuer.token(audience=REST.resource)
        oauth.verify(token, REST)
        refused(token, OTHER_REST)
        refused(token, MCP)

    def test_a_cached_token_is_verified_again_once_expired(self, issuer, monkeypatch):
        """Issue 10 point 3: past exp, the cache entry is gone and the token refused."""
        token = issuer.token(audience=REST.resource, lifetime=60)
        oauth.verify(token, REST)
        later = time.time() + 600
        monkeypatch.setattr(oauth, "_clock", lambda: later)
        real_decode = jwt.decode

        def decode_later(*args, **kwargs):
            # PyJWT reads the clock itself: give it the same "later".
            options = {**kwargs.pop("options", {})}
            payload = real_decode(*args, options={**options, "verify_exp": False}, **kwargs)
            if payload["exp"] + oauth.LEEWAY_SECONDS < later:
                raise jwt.ExpiredSignatureError("Signature has expired")
            return payload

        monkeypatch.setattr(oauth.jwt, "decode", decode_later)
        error = refused(token)
        assert "expired" in error.detail

    def test_the_cache_is_bounded(self, issuer, monkeypatch):
        """Issue 10 point 3: many distinct tokens never grow the cache past its size."""
        monkeypatch.setattr(oauth, "CACHE_SIZE", 8)
        for n in range(20):
            oauth.verify(issuer.token(audience=REST.resource, subject=f"agent-{n}"), REST)
        assert 0 < oauth.cached_tokens() <= 8

    def test_the_cache_holds_no_token(self, issuer):
        """Issue 10 point 3: the cache is keyed by a hash; the token's value is not kept."""
        token = issuer.token(audience=REST.resource)
        oauth.verify(token, REST)
        ((digest, entry),) = oauth._state().tokens.items()
        assert len(digest) == 32  # a SHA-256
        kept = repr(entry)
        assert "agent-1" in kept  # what is kept is the client
        assert token not in kept
        assert token.split(".")[2] not in kept


def test_a_new_configuration_is_used_at_once(issuer, settings):
    """Issue 10 point 3: changing the issuer setting takes effect without a restart."""
    token = issuer.token(audience=REST.resource)
    oauth.verify(token, REST)
    settings.REGISTRY_OAUTH_ISSUER = "https://another-idp.example/"
    refused(token)


def test_error_descriptions_are_valid_header_text(issuer):
    """Issue 10 point 3: error_description carries no quote or backslash (RFC 6750 §3)."""
    token = issuer.forged("none", audience=REST.resource)
    header = base64.urlsafe_b64encode(b'{"alg":"x\\"y\\\\z","kid":"\\"k"}').rstrip(b"=")
    error = refused(header.decode() + token[token.index(".") :])
    description = error.challenge.split('error_description="')[1].split('"')[0]
    assert '"' not in description and "\\" not in description
