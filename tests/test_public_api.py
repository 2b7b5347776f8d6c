"""The public surface: __all__, py.typed, keyword-only signatures, the error tree."""

from __future__ import annotations

import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest

import keyapi_async
from keyapi_async import PAGING_OPTIONS, Influencers, _endpoints, _errors

from . import endpoints

PAGINATED: dict[str, _endpoints.Endpoint[Any]] = {
    row.method: row.declaration for row in endpoints.PAGINATED
}


def _public_names(module: types.ModuleType) -> set[str]:
    """Names the module defines for users: not underscored, not a submodule."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def test_all_is_exactly_the_public_names() -> None:
    exported = keyapi_async.__all__
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert set(exported) - {"__version__"} == _public_names(keyapi_async)
    assert "__version__" in exported


@pytest.mark.parametrize("name", keyapi_async.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    value = getattr(keyapi_async, name)
    assert value is not None
    if name != "__version__":
        assert getattr(value, "__name__", name) == name


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert keyapi_async.__version__ == version("keyapi-async")


def test_py_typed_ships_in_the_package_dir() -> None:
    marker = Path(keyapi_async.__file__).parent / "py.typed"
    assert marker.is_file()


def _public_methods() -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(Influencers, inspect.isfunction)
        if not name.startswith("_")
    }


FAN_OUT = {"videos_many": "videos", "livestreams_many": "livestreams"}


def test_the_influencer_methods_are_the_five_endpoints_and_the_fan_outs() -> None:
    assert set(_public_methods()) == {*PAGINATED, "detail", "detail_stream", *FAN_OUT}


@pytest.mark.parametrize(("name", "single"), sorted(FAN_OUT.items()))
def test_fan_outs_take_user_ids_then_keywords(name: str, single: str) -> None:
    params = list(inspect.signature(getattr(Influencers, name)).parameters.values())
    assert [p.name for p in params[:2]] == ["self", "user_ids"]
    rest = {p.name: p.kind for p in params[2:]}
    assert set(rest.values()) == {inspect.Parameter.KEYWORD_ONLY}
    declared = set(PAGINATED[single].params) - {"user_id", "unique_id"}
    assert set(rest) == declared | {"concurrency", "limit_per_user", "page_size"}


@pytest.mark.parametrize("name", sorted({*PAGINATED, "detail"}))
def test_influencer_methods_take_keywords_only(name: str) -> None:
    params = list(inspect.signature(getattr(Influencers, name)).parameters.values())
    assert params[0].name == "self"
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    positional = [p.name for p in params[1:] if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert positional == []
    assert len(params) > 1


@pytest.mark.parametrize("name", sorted(PAGINATED))
def test_paginated_methods_take_the_declared_params_plus_paging(name: str) -> None:
    params = inspect.signature(getattr(Influencers, name)).parameters
    keywords = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    declared = list(PAGINATED[name].params)
    assert set(PAGING_OPTIONS) == {"page_size", "start_page", "max_pages", "limit", "concurrency"}
    assert sorted(keywords) == sorted([*declared, *PAGING_OPTIONS])
    # Required in the declaration <=> no default in the signature.
    for param_name, param in PAGINATED[name].params.items():
        has_default = params[param_name].default is not inspect.Parameter.empty
        assert has_default is not param.required, param_name


def test_the_tests_endpoint_table_is_every_declaration() -> None:
    declared = [v for v in vars(_endpoints).values() if isinstance(v, _endpoints.Endpoint)]
    assert [row.declaration for row in endpoints.ALL] == declared


@pytest.mark.parametrize("row", endpoints.ALL, ids=lambda row: row.method)
def test_each_declaration_has_the_documented_path_and_page_ceiling(row: endpoints.Endpoint) -> None:
    assert row.declaration.path == row.path
    assert row.declaration.max_page == row.ceiling


def test_detail_takes_the_declared_params() -> None:
    params = inspect.signature(Influencers.detail).parameters
    keywords = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords == set(_endpoints.INFLUENCER_DETAIL.params) == {"user_ids", "unique_ids"}
    assert inspect.iscoroutinefunction(Influencers.detail)


def test_detail_stream_takes_the_declared_params_and_concurrency() -> None:
    params = list(inspect.signature(Influencers.detail_stream).parameters.values())
    assert params[0].name == "self"
    rest = {p.name: p.kind for p in params[1:]}
    assert set(rest.values()) == {inspect.Parameter.KEYWORD_ONLY}
    assert set(rest) == {*_endpoints.INFLUENCER_DETAIL.params, "concurrency"}
    assert not inspect.iscoroutinefunction(Influencers.detail_stream)
    hints = typing.get_type_hints(Influencers.detail_stream)
    assert hints["return"] is keyapi_async.DetailStream


def test_keyapi_init_has_api_key_positional_and_the_rest_keyword_only() -> None:
    params = list(inspect.signature(keyapi_async.KeyAPI.__init__).parameters.values())
    assert [p.name for p in params[:2]] == ["self", "api_key"]
    assert params[1].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert params[1].default is None
    rest = {p.name: p.kind for p in params[2:]}
    assert "base_url" in rest
    assert "qps" in rest
    assert set(rest.values()) == {inspect.Parameter.KEYWORD_ONLY}


# --- the error tree ---------------------------------------------------------------


def _tree_from_docstring() -> dict[str, str | None]:
    """{class name: parent name} as drawn in _errors' module docstring."""
    doc = _errors.__doc__
    assert doc is not None
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in doc.splitlines():
        match = re.match(r"^([\s│├└─]*)([A-Z][A-Za-z]+)\b", line)
        if not match or not match.group(2).endswith(("Error", "Exceeded", "Redirects")):
            continue
        depth = len(match.group(1)) // 4
        del stack[depth:]
        parents[match.group(2)] = stack[-1] if stack else None
        stack.append(match.group(2))
    return parents


def test_the_docstring_tree_covers_every_exported_error() -> None:
    tree = _tree_from_docstring()
    exported_errors = {
        name
        for name in keyapi_async.__all__
        if isinstance(getattr(keyapi_async, name), type)
        and issubclass(getattr(keyapi_async, name), BaseException)
    }
    assert set(tree) == exported_errors == set(_errors.__all__)
    assert tree["KeyAPIError"] is None
    assert tree["APITimeoutError"] == "APIConnectionError"
    assert tree["RateLimitError"] == "APIStatusError"


@pytest.mark.parametrize("name", sorted(_tree_from_docstring()))
def test_error_classes_form_the_documented_tree(name: str) -> None:
    tree = _tree_from_docstring()
    cls = getattr(keyapi_async, name)
    parent = tree[name]
    if parent is None:
        assert cls.__bases__ == (Exception,)
        return
    parent_cls = getattr(keyapi_async, parent)
    assert issubclass(cls, parent_cls)
    assert issubclass(cls, keyapi_async.KeyAPIError)
    # Its nearest KeyAPI ancestor is the drawn parent, not a sibling or a grandparent.
    library_bases = [b for b in cls.__bases__ if issubclass(b, keyapi_async.KeyAPIError)]
    assert library_bases == [parent_cls]
    # Not under any class drawn outside its own line of ancestors.
    ancestors = set()
    node: str | None = name
    while node is not None:
        ancestors.add(node)
        node = tree[node]
    for other in set(tree) - ancestors:
        assert not issubclass(cls, getattr(keyapi_async, other)), other


def test_invalid_parameter_error_is_a_value_error() -> None:
    err = keyapi_async.InvalidParameterError("page_size", "must be 1..10")
    assert isinstance(err, ValueError)
    assert isinstance(err, keyapi_async.KeyAPIError)
    assert err.parameter == "page_size"
    assert str(err) == "page_size: must be 1..10"
    assert not issubclass(keyapi_async.CreditBudgetExceeded, ValueError)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (402, "InsufficientCreditsError"),
        (429, "RateLimitError"),
        (500, "ServerError"),
        (503, "ServerError"),
        (418, "APIStatusError"),
        (403, "PermissionDeniedError"),
        (599, "ServerError"),
        (600, "APIStatusError"),
        (10001, "APIStatusError"),
    ],
)
def test_status_codes_map_to_the_documented_classes(status: int, expected: str) -> None:
    assert _errors.status_error_class(status) is getattr(keyapi_async, expected)


def _retried_in_docstring() -> dict[str, bool]:
    doc = _errors.__doc__ or ""
    found = {}
    for line in doc.splitlines():
        match = re.search(r"([A-Z][A-Za-z]+Error)\s.*?\b(never retried|retried)\b", line)
        if match:
            found[match.group(1)] = match.group(2) == "retried"
    return found


def test_retryable_flags_match_the_docstring() -> None:
    drawn = _retried_in_docstring()
    assert drawn == {
        "BadRequestError": False,
        "AuthenticationError": False,
        "InsufficientCreditsError": False,
        "PermissionDeniedError": False,
        "RateLimitError": True,
        "ServerError": True,
        "APIConnectionError": True,
        "APITimeoutError": True,
    }
    for name, retried in drawn.items():
        assert getattr(keyapi_async, name).retryable is retried, name
    assert keyapi_async.InvalidParameterError.retryable is False
    assert keyapi_async.APIStatusError.retryable is False  # an undocumented code
    assert keyapi_async.CreditBudgetExceeded.retryable is False


def test_decode_records_decodes_a_kept_body_as_the_client_does() -> None:
    import msgspec

    from keyapi_async import BadRequestError, Influencer, InvalidParameterError, decode_records

    body = msgspec.json.encode(
        {"code": 0, "message": "ok", "requestId": "r", "data": [{"user_id": "1", "region": "US"}]}
    )
    [record] = decode_records(body, model=Influencer)
    assert (record.user_id, record.region) == ("1", "US")
    error = msgspec.json.encode({"code": 400, "message": "bad", "requestId": "r", "data": None})
    with pytest.raises(BadRequestError):
        decode_records(error, model=Influencer)
    with pytest.raises(InvalidParameterError, match="model"):
        decode_records(body, model=dict)
