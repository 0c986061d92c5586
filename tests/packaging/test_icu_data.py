"""packaging/icu_data.py: the bundle's ICU data, cut to what Qt's calls into ICU reach.

Checked against PySide6's real libicudata: the reader against ICU's own ``icupkg`` and
binutils' ``nm``, the pruned package item by item against the full one, and Qt's answers
(collation, converters, case mapping, time-zone names) with the pruned library loaded
against the same calls with the full one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("icu_data", ROOT / "packaging" / "icu_data.py")
icu_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(icu_data)

QT_LIB = Path(importlib.util.find_spec("PySide6").origin).parent / "Qt" / "lib"
ICU_DATA = sorted(QT_LIB.glob("libicudata.so.*"))
pytestmark = pytest.mark.skipif(not ICU_DATA, reason="PySide6 ships no libicudata here (not a Linux wheel)")
VERSION = ICU_DATA[0].name.split(".so.", 1)[1].split(".")[0] if ICU_DATA else ""
SYMBOL = f"icudt{VERSION}_dat"
# The item folders and files the bundle leaves out, written out here rather than taken from the rules.
REMOVED = ("unit/", "brkitr/", "curr/", "lang/", "region/", "translit/", "rbnf/", "unames.icu")


def _qt_libraries() -> list[Path]:
    """Every ELF library and plugin of PySide6's Qt except ICU's own."""
    def is_elf(path: Path) -> bool:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"

    paths = [*QT_LIB.glob("*.so*"), *(QT_LIB.parent / "plugins").rglob("*.so")]
    return [p for p in paths if p.is_file() and not p.name.startswith("libicu") and is_elf(p)]


@pytest.fixture(scope="module")
def full() -> bytes:
    return icu_data.package_of(ICU_DATA[0].read_bytes(), SYMBOL)


def _short(name: str) -> str:
    return name.split("/", 1)[1]


def test_a_package_reads_and_writes_back_byte_for_byte(full):
    header, items = icu_data.read_package(full)
    assert len(items) > 1000 and all(name.startswith(f"icudt{VERSION}l/") for name, _ in items)
    assert icu_data.write_package(header, items) == full


def test_a_written_package_is_sorted_and_aligned():
    header = b"\x20\x00\xda\x27" + bytes(8) + b"CmnD" + bytes(16)  # 32 bytes, little-endian, format CmnD
    blob = icu_data.write_package(header, [("p/b.res", b"12345"), ("p/a.res", b"xyz")])
    items = icu_data.read_package(blob)[1]
    assert items == [("p/a.res", b"xyz" + b"\xaa" * 13), ("p/b.res", b"12345" + b"\xaa" * 11)]
    first = blob.index(b"xyz")
    assert first % 16 == 0 and blob.index(b"12345") == first + 16


def test_what_is_not_icu_data_is_refused():
    with pytest.raises(ValueError, match="CmnD"):
        icu_data.read_package(bytes(64))
    with pytest.raises(ValueError, match=SYMBOL):
        icu_data.package_of((QT_LIB / "libQt6Core.so.6").read_bytes(), SYMBOL)
    with pytest.raises(ValueError, match="ELF"):
        icu_data.dynamic_symbols(b"#!/bin/sh\n" * 10)


def test_the_symbol_reader_agrees_with_nm():
    if shutil.which("nm") is None:
        pytest.skip("binutils' nm is not installed")
    data = ICU_DATA[0].read_bytes()
    out = subprocess.run(["nm", "-D", "-S", "--defined-only", str(ICU_DATA[0])], capture_output=True, text=True,
                         check=True).stdout
    value, size, _kind, name = out.split()
    assert name == SYMBOL
    _shndx, ours_value, ours_size = icu_data.dynamic_symbols(data)[SYMBOL]
    assert (ours_value, ours_size) == (int(value, 16), int(size, 16))
    core = QT_LIB / "libQt6Core.so.6"
    out = subprocess.run(["nm", "-D", "--undefined-only", str(core)], capture_output=True, text=True,
                         check=True).stdout
    theirs = {line.split()[-1].split("@")[0] for line in out.splitlines()}
    assert icu_data.icu_imports(core, VERSION) == {n.removesuffix(f"_{VERSION}") for n in theirs
                                                  if n.endswith(f"_{VERSION}")}


def test_the_reader_and_the_pruned_package_agree_with_icupkg(full, tmp_path):
    if shutil.which("icupkg") is None:
        pytest.skip("ICU's icupkg is not installed")
    package = f"icudt{VERSION}l.dat"
    (tmp_path / "full").mkdir()
    (tmp_path / "pruned").mkdir()
    (tmp_path / "full" / package).write_bytes(full)
    (tmp_path / "pruned" / package).write_bytes(icu_data.prune_package(full)[0])

    def listing(folder: str) -> list[str]:
        return subprocess.run(["icupkg", "-l", package], cwd=tmp_path / folder, capture_output=True, text=True,
                              check=True).stdout.split()

    names = listing("full")
    assert names == [_short(n) for n, _ in icu_data.read_package(full)[1]]
    kept = listing("pruned")
    assert kept == [n for n in names if not n.startswith(REMOVED)]
    assert {n.split("/")[0] for n in kept} >= {"coll", "zone", "cnvalias.icu", "root.res", "zoneinfo64.res"}
    for folder in ("full", "pruned"):
        (tmp_path / folder / "items").mkdir()
        subprocess.run(["icupkg", "-x", "*", "-d", "items", package], cwd=tmp_path / folder, check=True,
                       capture_output=True)
    for name in kept:  # every item kept is the very item ICU's tool extracts from the full package
        assert (tmp_path / "pruned" / "items" / name).read_bytes() == (tmp_path / "full" / "items" / name).read_bytes()


def test_qt_calls_no_icu_service_whose_data_the_bundle_leaves_out():
    calls = set().union(*(icu_data.icu_imports(p, VERSION) for p in _qt_libraries()))
    assert {"ucol_open", "ucnv_open", "ucal_getTimeZoneDisplayName", "u_strToUpper"} <= calls
    assert all(icu_data.QT_MAY_CALL.fullmatch(c) for c in calls), sorted(calls)
    # The services whose data the rules remove are outside what Qt may call.
    for service in ("ubrk_open", "uloc_getDisplayName", "utrans_openU", "ucurr_getName", "unum_open",
                    "umeas_open", "u_charName", "uldn_open"):
        assert not icu_data.QT_MAY_CALL.fullmatch(service)


def _probe(env_extra: dict[str, str]) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **env_extra}
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("icu_probe.py"))], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _probe_encodings() -> list[str]:
    spec = importlib.util.spec_from_file_location("icu_probe", Path(__file__).with_name("icu_probe.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.ENCODINGS)


@pytest.mark.skipif(not (shutil.which("as") and shutil.which("ld")), reason="binutils' as/ld are not installed")
def test_qt_answers_the_same_with_the_pruned_data(tmp_path, capsys):
    pruned = icu_data.prune_library(ICU_DATA[0], _qt_libraries(), tmp_path)
    assert pruned == tmp_path / ICU_DATA[0].name
    assert pruned.stat().st_size < 0.6 * ICU_DATA[0].stat().st_size
    assert "prune ICU data: " in capsys.readouterr().out

    with_full = _probe({})
    with_pruned = _probe({"LD_LIBRARY_PATH": str(tmp_path)})
    assert with_full["icudata"] == [str(ICU_DATA[0].resolve())]
    assert with_pruned["icudata"] == [str(pruned)]
    assert with_pruned["answers"] == with_full["answers"]

    # And the answers are ICU's real ones, not a fallback that happens to agree.
    answers = with_pruned["answers"]
    sv, de = answers["sort sv_SE"], answers["sort de_DE"]
    assert sv.index("Äpfel") > sv.index("zebra") and de.index("Äpfel") < de.index("apple")  # å, ä, ö after z in Swedish
    assert answers["case tr_TR"][0].startswith("İIİ") and answers["case en_US"][0].startswith("IIİ")
    for name in _probe_encodings():
        codec = answers[f"codec {name}"]
        assert codec["valid"] and codec["decoded"] == codec["python"], name
    assert len(answers["codecs"]) > 100
    for key, names in answers.items():
        if key.startswith("zone ") and key != "zone aliases":
            assert not names[0].startswith(("GMT", "UTC")), (key, names)  # a real name, not the offset fallback


def test_a_qt_that_calls_more_of_icu_keeps_the_whole_data(tmp_path, capsys):
    # libicui18n calls break iterators, number formats and display names: as a "Qt library" it fails the premise.
    i18n = next(QT_LIB.glob("libicui18n.so.*"))
    assert icu_data.prune_library(ICU_DATA[0], [i18n], tmp_path) == ICU_DATA[0]
    assert "kept whole" in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_a_library_without_the_data_symbol_is_kept_as_it_is(tmp_path, capsys):
    code = next(QT_LIB.glob("libicuuc.so.*"))  # imports icudt<N>_dat rather than defining it
    assert icu_data.prune_library(code, [QT_LIB / "libQt6Core.so.6"], tmp_path) == code
    assert f"defines no {SYMBOL}" in capsys.readouterr().err


def test_the_toc_swaps_only_the_data_library(tmp_path, monkeypatch):
    monkeypatch.setattr(icu_data, "prune_library", lambda lib, others, work: (
        tmp_path / lib.name if all(not p.name.startswith("libicu") for p in others) else lib))
    toc = [
        ("PySide6/Qt/lib/libicudata.so.73", str(ICU_DATA[0]), "BINARY"),
        ("libicudata.so.73", "PySide6/Qt/lib/libicudata.so.73", "SYMLINK"),
        ("PySide6/Qt/lib/libQt6Core.so.6", str(QT_LIB / "libQt6Core.so.6"), "BINARY"),
        ("PySide6/Qt/lib/libicuuc.so.73", str(next(QT_LIB.glob("libicuuc.so.*"))), "BINARY"),
    ]
    swapped = icu_data.prune_icu_toc(toc, tmp_path)
    assert swapped[0] == (toc[0][0], str(tmp_path / ICU_DATA[0].name), "BINARY")
    assert swapped[1:] == toc[1:]
    assert icu_data.prune_icu_toc(toc[2:], tmp_path) == toc[2:]  # no ICU data: nothing to do
