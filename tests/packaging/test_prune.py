"""packaging/prune.py: which Qt files the bundle leaves out, and the orphan-library pass.

No bundle is built here: the rules are checked against PySide6's real plugin folder, and
the ELF reader against PySide6's real libraries.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("prune", ROOT / "packaging" / "prune.py")
prune = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prune)

QT_DIR = Path(importlib.util.find_spec("PySide6").origin).parent / "Qt"
PLUGINS = sorted(p for p in (QT_DIR / "plugins").rglob("*.so"))  # Linux wheels; empty elsewhere

# What a desktop session, the self-test and the app's icons need: never pruned.
MUST_KEEP = (
    "platforms/libqxcb.so", "platforms/libqwayland.so", "platforms/libqoffscreen.so",
    "imageformats/libqsvg.so", "iconengines/libqsvgicon.so", "platformthemes/libqxdgdesktopportal.so",
    "platforminputcontexts/libcomposeplatforminputcontextplugin.so",
    "platforminputcontexts/libibusplatforminputcontextplugin.so",
    "wayland-shell-integration/libxdg-shell.so", "xcbglintegrations/libqxcb-glx-integration.so",
)
MUST_PRUNE = (
    "platforms/libqeglfs.so", "platforms/libqlinuxfb.so", "platforms/libqvnc.so", "platforms/libqminimal.so",
    "platformthemes/libqgtk3.so", "imageformats/libqjpeg.so", "imageformats/libqtiff.so",
    "generic/libqevdevmouseplugin.so", "wayland-shell-integration/libivi-shell.so",
)


def _toc(paths):
    return [(f"PySide6/Qt/plugins/{p}", f"/src/{p}", "BINARY") for p in paths]


def test_the_rules_keep_what_the_app_needs_and_drop_the_rest(capsys):
    kept = {e[0] for e in prune.prune_toc(_toc(MUST_KEEP + MUST_PRUNE), "binaries")}
    assert kept == {f"PySide6/Qt/plugins/{p}" for p in MUST_KEEP}
    out = capsys.readouterr().out
    assert "GTK 3 theme" in out and "libqgtk3.so" in out  # every removal is reported with its reason


def test_every_translation_goes_and_nothing_else_in_datas():
    datas = [
        ("PySide6/Qt/translations/qtbase_de.qm", "/x", "DATA"),
        ("attnstudio/assets/lessons/causal.toml", "/y", "DATA"),
        ("pyqtgraph/icons/auto.png", "/z", "DATA"),
    ]
    assert prune.prune_toc(datas, "datas") == datas[1:]


@pytest.mark.skipif(not PLUGINS, reason="PySide6 ships no .so plugins here (not Linux)")
def test_every_plugin_pyside6_ships_is_either_kept_on_purpose_or_pruned_by_a_rule():
    """A new PySide6 release with a new plugin type shows up here, to be decided on."""
    names = [str(p.relative_to(QT_DIR / "plugins")) for p in PLUGINS]
    assert set(MUST_KEEP) <= set(names), "a plugin the app needs is missing from PySide6"
    kept = {e[0].removeprefix("PySide6/Qt/plugins/") for e in prune.prune_toc(_toc(names), "binaries")}
    assert set(MUST_KEEP) <= kept
    assert not (set(MUST_PRUNE) & kept)


@pytest.mark.skipif(not (QT_DIR / "lib" / "libQt6Gui.so.6").exists(), reason="Linux PySide6 wheel layout only")
def test_the_elf_reader_agrees_with_readelf():
    lib = QT_DIR / "lib" / "libQt6Gui.so.6"
    ours = prune.needed_libraries(lib)
    assert "libQt6Core.so.6" in ours
    try:
        out = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("readelf is not installed")
    theirs = {line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line}
    assert ours == theirs


def test_the_elf_reader_says_none_for_what_is_not_elf(tmp_path):
    (tmp_path / "script.so").write_text("/* GNU ld script */ GROUP ( libc.so.6 )")
    assert prune.needed_libraries(tmp_path / "script.so") is None
    assert prune.needed_libraries(tmp_path / "absent.so") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF only")
def test_orphans_are_the_libraries_nothing_kept_links_against(monkeypatch):
    graph = {
        "/s/QtGui.abi3.so": {"libQt6Gui.so.6"},
        "/s/libQt6Gui.so.6": {"libQt6Core.so.6", "libfreetype.so.6"},
        "/s/libQt6Core.so.6": {"libicuuc.so.73"},
        "/s/libicuuc.so.73": set(),
        "/s/libfreetype.so.6": set(),
        "/s/libcairo.so.2": {"libpixman-1.so.0"},  # only the pruned GTK theme needed these
        "/s/libpixman-1.so.0": set(),
        "/s/libpython3.11.so.1.0": set(),  # dlopened by the bootloader: never an orphan
        "/s/libqxcb.so": {"libQt6Gui.so.6"},
    }
    monkeypatch.setattr(prune, "needed_libraries", lambda path: graph[str(path)])
    toc = [
        ("PySide6/QtGui.abi3.so", "/s/QtGui.abi3.so", "EXTENSION"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/s/libQt6Gui.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY"),
        ("PySide6/Qt/lib/libicuuc.so.73", "/s/libicuuc.so.73", "BINARY"),
        ("libfreetype.so.6", "/s/libfreetype.so.6", "BINARY"),
        ("libcairo.so.2", "/s/libcairo.so.2", "BINARY"),
        ("libpixman-1.so.0", "/s/libpixman-1.so.0", "BINARY"),
        ("libpython3.11.so.1.0", "/s/libpython3.11.so.1.0", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY"),
    ]
    kept = [e[0] for e in prune.drop_orphans(toc)]
    assert "libcairo.so.2" not in kept and "libpixman-1.so.0" not in kept
    assert kept == [e[0] for e in toc if e[0] not in ("libcairo.so.2", "libpixman-1.so.0")]


def test_an_unreadable_root_keeps_everything(monkeypatch):
    monkeypatch.setattr(prune, "needed_libraries", lambda path: None)
    toc = [("PySide6/QtGui.abi3.so", "/s/a", "EXTENSION"), ("libcairo.so.2", "/s/b", "BINARY")]
    assert prune.drop_orphans(toc) == toc


def test_links_to_pruned_libraries_go_with_them():
    toc = [
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),  # its library was an orphan
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/s/libQt6Gui.so.6", "BINARY"),
        ("a/b/link.so", "../c/lib.so", "SYMLINK"),  # relative to its own folder: a/c/lib.so
    ]
    kept = {"PySide6/Qt/lib/libQt6Gui.so.6", "a/c/lib.so"}
    kept_names = [e[0] for e in prune.drop_dangling_symlinks(toc, kept)]
    assert kept_names == ["libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "a/b/link.so"]
