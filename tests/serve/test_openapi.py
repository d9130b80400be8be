"""The OpenAPI document is valid OpenAPI 3.0 (what the bundled Swagger UI renders)."""

from __future__ import annotations

from openapi_spec_validator import validate

from echoarb.serve.openapi import document


def test_document_is_valid_openapi() -> None:
    doc = document("1.2.3")
    validate(doc)  # raises on any violation of the OpenAPI 3.0 schema
    assert doc["openapi"].startswith("3.0")
    assert {"/api/spreads", "/api/pairs/{pair_id}", "/ws/spreads", "/health", "/metrics"} == set(doc["paths"])
