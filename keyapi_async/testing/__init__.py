"""Test support: a local fake of the KeyAPI influencer analytics API, and a testing mode.

`FakeKeyAPI` serves a deterministic generated dataset over real HTTP on 127.0.0.1, with the
field drift, faults, QPS limit and credit budget of the real service. The pytest plugin
(`keyapi_fake`, `keyapi_fake_factory` fixtures) is registered when the package is installed.
`set_testing(True)` makes the SDK's retries happen without waiting.
"""

from __future__ import annotations

from .. import set_testing
from ._dataset import Dataset
from ._faults import Fault, RequestRecord
from ._server import FakeKeyAPI, most_in_window

__all__ = ["FakeKeyAPI", "Fault", "RequestRecord", "Dataset", "set_testing", "most_in_window"]
