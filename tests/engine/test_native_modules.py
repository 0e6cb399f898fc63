"""engine.native_modules: which modules run compiled, and when a build is stale.

In a checkout a compiled module older than its source would silently run old code, so
importing refuses it. An installed package's files all come from one build, written in
whatever order the installer chose: there a .py newer than its .so is no staleness.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

from engine import native_modules

SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")


def package_with_older_extension(top: Path) -> Path:
    """top/pkg/ holding mod.py written after mod's extension module."""
    package = top / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / f"mod{SUFFIX}").write_bytes(b"")
    (package / "mod.py").write_text("")
    os.utime(package / f"mod{SUFFIX}", (1_000_000, 1_000_000))
    return package


def test_a_checkout_refuses_an_extension_older_than_its_source(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    package = package_with_older_extension(tmp_path)
    with pytest.raises(ImportError, match=r"older than mod\.py"):
        native_modules(package)


def test_a_subpackage_of_a_checkout_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "__init__.py").write_text("")
    with pytest.raises(ImportError, match=r"older than mod\.py"):
        native_modules(package_with_older_extension(tmp_path / "top"))


def test_an_installed_package_lists_its_extensions_whatever_their_mtimes(
    tmp_path: Path,
) -> None:
    package = package_with_older_extension(tmp_path / "site-packages")
    assert native_modules(package) == ("mod",)
