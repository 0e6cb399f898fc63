"""The matching and pre-trade risk engine: pure, synchronous, deterministic.

The modules are plain typed Python. `make native` compiles the hot ones with mypyc
into C extensions beside the sources (about 1.9x faster on the benchmark mix);
`make clean-native` removes them; a wheel built with a C compiler carries them (see
setup.py). Python prefers an extension over the .py of the same name, so a stale
build in a checkout would silently run old code: importing the engine there refuses
when any source is newer than its compiled module.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__all__ = ["NATIVE", "native_modules"]


def _load_runtime(ext: Path) -> None:
    """mypyc's shared runtime is a top-level module; `make native` keeps it in engine/."""
    name = ext.name.split(".", 1)[0]
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, ext)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the mypyc runtime {ext}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def _in_checkout(package_dir: Path) -> bool:
    """Whether the package is in a source tree (pyproject.toml beside its top-level
    package), where sources change after a build. An installed package's files come
    from one build, and installers write them in any order (a .py may be newer)."""
    top = package_dir.resolve()
    while (top.parent / "__init__.py").is_file():
        top = top.parent
    return (top.parent / "pyproject.toml").is_file()


def native_modules(package_dir: Path) -> tuple[str, ...]:
    """The modules of ``package_dir`` that run as compiled extensions.

    Loads any mypyc runtime found there first (compiled modules import it by a
    top-level name), and in a checkout refuses a compiled module older than its
    source (the ``.py`` mypyc compiled, or the ``.c`` of a hand-written extension).
    """
    for ext in package_dir.glob("*__mypyc.*.so"):
        _load_runtime(ext)
    checkout = _in_checkout(package_dir)
    built = []
    for ext in package_dir.glob("*.so"):
        if "__mypyc." in ext.name:
            continue
        stem = ext.name.split(".", 1)[0]
        sources = (package_dir / (stem + ".py"), package_dir / (stem + ".c"))
        for source in sources if checkout else ():
            if source.exists() and source.stat().st_mtime > ext.stat().st_mtime:
                raise ImportError(
                    f"{ext} is older than {source.name}: "
                    "run `make native` to rebuild or `make clean-native` for pure Python"
                )
        built.append(stem)
    return tuple(sorted(built))


NATIVE: tuple[str, ...] = native_modules(Path(__file__).parent) + tuple(
    f"perp.{name}" for name in native_modules(Path(__file__).parent / "perp")
)
"""Engine modules running as mypyc-compiled extensions (empty = pure Python)."""
