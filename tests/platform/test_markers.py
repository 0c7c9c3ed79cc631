"""The platform markers skip a test elsewhere, with the reason, and leave it alone on its own OS."""

from __future__ import annotations

import sys

import pytest

from tests import conftest


@pytest.mark.linux_only(reason="reads /proc")
def test_a_linux_only_test_runs_on_linux() -> None:
    assert sys.platform.startswith("linux"), "the marker let this run only on Linux"


def test_markers_skip_off_platform(marked_item: type) -> None:
    with pytest.raises(pytest.skip.Exception, match=r"^macOS only: uses sandbox-exec$"):
        conftest.pytest_runtest_setup(marked_item(pytest.mark.macos_only(reason="uses sandbox-exec")))
    conftest.pytest_runtest_setup(marked_item(pytest.mark.linux_only(reason="reads /proc")))


def test_markers_on_an_emulated_mac(monkeypatch: pytest.MonkeyPatch, marked_item: type) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(pytest.skip.Exception, match=r"^Linux only: reads /proc$"):
        conftest.pytest_runtest_setup(marked_item(pytest.mark.linux_only(reason="reads /proc")))
    conftest.pytest_runtest_setup(marked_item(pytest.mark.macos_only("uses sandbox-exec")))


@pytest.fixture
def marked_item() -> type:
    class MarkedItem:
        """Stands in for a collected test item carrying one mark."""

        def __init__(self, mark: pytest.MarkDecorator) -> None:
            self.mark = mark.mark

        def get_closest_marker(self, name: str) -> pytest.Mark | None:
            return self.mark if self.mark.name == name else None

    return MarkedItem
