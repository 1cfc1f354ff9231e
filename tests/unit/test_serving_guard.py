"""What keeps the service safe to expose, on a small app: a bearer token (401 without it or
with a wrong one, never echoed), and the body limit (413 for a declared or a streamed body
over it). The service itself is checked end to end in tests/e2e/test_serving.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from mlops_spec import secrets
from mlops_spec.runtime.serving_guard import BodyLimit, bearer_check, resolve_token

TOKEN = "s3cret-token-for-tests"


def _app(token: str | None) -> FastAPI:
    app = FastAPI()

    @app.post("/echo", dependencies=[Depends(bearer_check(token))])
    async def echo(body: dict[str, int]) -> dict[str, int]:
        return body

    app.add_middleware(BodyLimit, max_bytes=64)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(_app(TOKEN)) as client:
        yield client


def test_a_missing_or_wrong_token_is_a_401(client: TestClient) -> None:
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/echo", json={"a": 1}, headers=ok).json() == {"a": 1}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        response = client.post("/echo", json={"a": 1}, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in response.text


def test_without_a_token_everyone_may_ask() -> None:
    with TestClient(_app(None)) as open_client:
        assert open_client.post("/echo", json={"a": 1}).status_code == 200


def test_a_body_over_the_limit_is_a_413(client: TestClient) -> None:
    ok = {"Authorization": f"Bearer {TOKEN}"}
    big = {f"k{i}": i for i in range(20)}
    assert client.post("/echo", json=big, headers=ok).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body is counted as it comes
        yield b'{"a": 1, '
        yield b'"b": 2' + b" " * 100 + b"}"

    response = client.post("/echo", content=chunks(), headers=ok)
    assert response.status_code == 413
    assert "max_body_kb" in response.json()["detail"]


def test_the_token_comes_from_the_environment_and_is_masked() -> None:
    assert resolve_token({}) is None
    assert resolve_token({"MLOPS_SPEC_SERVING_TOKEN": "  "}) is None
    assert resolve_token({"MLOPS_SPEC_SERVING_TOKEN": TOKEN}) == TOKEN
    assert secrets.redact(f"token {TOKEN}") == "token ***"
