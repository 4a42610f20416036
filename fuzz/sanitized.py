"""The ASan + UBSan build of both C extensions, and running Python code against it.

    python -m fuzz.sanitized build                  # gcc -fsanitize=address,undefined into build/sanitized/
    python -m fuzz.sanitized run -- COMMAND ...     # COMMAND with libasan preloaded and this build imported

The build goes to its own folder: the in-place build `setup.py build_ext --inplace` makes is left alone. `run`
preloads gcc's libasan (CPython itself is not instrumented), after fuzz/atheris_coverage.c (without which
libasan's stubs would swallow atheris's coverage) and before libstdc++, makes every sanitizer report fatal, and
sets LINKSWEEP_SANITIZED_BUILD so that importing this module (`-p fuzz.sanitized` for pytest; the fuzz harnesses
do it themselves) puts the sanitized extensions in front of the in-place ones, and checks that they are the
ones loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "sanitized"
ENVIRONMENT_VARIABLE = "LINKSWEEP_SANITIZED_BUILD"

# (package, module, source, extra linker arguments): the extensions setup.py builds
EXTENSIONS = [
    ("pipelines.matching", "_fastmatch", "pipelines/matching/_fastmatch.c", ["-ldl"]),
    ("crawler.corpus", "_fastlinks", "crawler/corpus/_fastlinks.c", []),
]
FLAGS = ["-std=c11", "-O1", "-g", "-fPIC", "-shared", "-fno-omit-frame-pointer"]
FLAGS += ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
COVERAGE_FORWARDER = "libatheris_coverage.so"
# CPython's own allocations are never freed at exit: leak reports would only be noise. The link order check is
# off because the coverage forwarder (which intercepts nothing ASan does) is preloaded before libasan.
ASAN_OPTIONS = "detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1"
ASAN_OPTIONS += ":verify_asan_link_order=0"
UBSAN_OPTIONS = "halt_on_error=1:print_stacktrace=1"


def target(package: str, module: str, build: Path = BUILD) -> Path:
    return build.joinpath(*package.split("."), module + sysconfig.get_config_var("EXT_SUFFIX"))


def build(folder: Path = BUILD) -> list[Path]:
    """Compile both extensions with ASan and UBSan into `folder` (mirroring the package layout)."""
    include = sysconfig.get_path("include")
    built = []
    for package, module, source, libraries in EXTENSIONS:
        output = target(package, module, folder)
        output.parent.mkdir(parents=True, exist_ok=True)
        command = ["gcc", *FLAGS, f"-I{include}", str(ROOT / source), "-o", str(output), *libraries]
        subprocess.run(command, check=True)
        built.append(output)
    forwarder = folder / COVERAGE_FORWARDER
    source = ROOT / "fuzz" / "atheris_coverage.c"
    command = ["gcc", "-std=c11", "-O2", "-fPIC", "-shared", str(source), "-o", str(forwarder), "-ldl"]
    subprocess.run(command, check=True)
    built.append(forwarder)
    return built


def environment(folder: Path = BUILD) -> dict[str, str]:
    """os.environ plus what a process needs to run the sanitized build."""
    libasan, libstdcxx = (_gcc_file("libasan.so"), _gcc_file("libstdc++.so.6"))
    return {
        **os.environ,
        # libstdc++ from the start too: ASan intercepts C++ throws only when it can find the real __cxa_throw at
        # start-up, and atheris reports a Python exception of the harness with one
        "LD_PRELOAD": f"{folder / COVERAGE_FORWARDER} {libasan} {libstdcxx}",
        "ASAN_OPTIONS": ASAN_OPTIONS,
        "UBSAN_OPTIONS": UBSAN_OPTIONS,
        "PYTHONMALLOC": "malloc",  # every Python object through ASan's allocator: overflows into them are seen
        "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0"),  # with -seed, the same inputs run after run
        ENVIRONMENT_VARIABLE: str(folder),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # this Python first: libFuzzer runs the harness again by its path (-minimize_crash), through its "#!"
        "PATH": os.pathsep.join(filter(None, [str(Path(sys.executable).parent), os.environ.get("PATH")])),
    }


def _gcc_file(name: str) -> str:
    path = subprocess.run(["gcc", f"-print-file-name={name}"], check=True, capture_output=True, text=True).stdout
    if not Path(path.strip()).is_file():
        raise SystemExit(f"gcc has no {name} (got {path.strip()!r}): install gcc's sanitizer and C++ runtimes")
    return path.strip()


def use_sanitized_build(folder: Path) -> None:
    """Make `import pipelines.matching._fastmatch` and `crawler.corpus._fastlinks` load the build in `folder`."""
    import importlib.util

    for package, module, _, _ in EXTENSIONS:
        name = f"{package}.{module}"
        if name in sys.modules:
            raise RuntimeError(f"{name} was imported before the sanitized build could replace it")
        path = target(package, module, folder)
        if not path.is_file():
            raise SystemExit(f"no sanitized build at {path}: run `python -m fuzz.sanitized build` first")
        # Loaded by file name, before its package: importing the package first would load the normal build.
        spec = importlib.util.spec_from_file_location(name, path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        sys.modules[name] = loaded
        if Path(loaded.__file__).resolve() != path.resolve():
            raise RuntimeError(f"{name} loaded from {loaded.__file__}, not the sanitized build {path}")


if os.environ.get(ENVIRONMENT_VARIABLE) and __name__ != "__main__":
    use_sanitized_build(Path(os.environ[ENVIRONMENT_VARIABLE]))


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        for path in build():
            print(f"built {path.relative_to(ROOT)}")
        return 0
    if argv[:1] == ["run"] and len(argv) > 1:
        command = argv[2:] if argv[1] == "--" else argv[1:]
        return subprocess.run(command, env=environment(), cwd=ROOT).returncode
    print(__doc__.strip().splitlines()[0], "\nusage: python -m fuzz.sanitized build | run -- COMMAND ...")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
