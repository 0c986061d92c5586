"""What the bundle leaves out of the files PyInstaller's Qt hooks collect, each with its reason.

PyInstaller collects every plugin of each type a Qt module *may* load (all platforms, all
image formats, every translation). A one-window teaching app on a desktop needs a few of
them; the rest cost space and, worse, drag in libraries of the build machine (GTK's
cairo/pango/glib stack) that can clash with the user's. ``attnstudio.spec`` calls
``prune_toc`` on the analysed binaries and data files, then ``drop_orphans`` removes the
shared libraries that nothing left in the bundle links against.

Every rule names the reason the files are provably unused; the build prints what each
rule removed and how much it saved.
"""

from __future__ import annotations

import fnmatch
import struct
import textwrap
from pathlib import Path

QT = "PySide6/Qt"

# (pattern on the path inside the bundle, reason). Patterns are fnmatch globs on "/" paths.
RULES: tuple[tuple[str, str], ...] = (
    (f"{QT}/translations/*",
     "Qt's own UI translations: read only through a QTranslator, and the app installs none"),
    (f"{QT}/plugins/platforms/libq[!owx]*",
     "platform plugins for kiosks and embedded boards (eglfs, linuxfb, vnc, vkkhrdisplay, "
     "minimal, minimalegl): a desktop session uses xcb or wayland, the self-test offscreen"),
    (f"{QT}/plugins/egldeviceintegrations/*", "loaded only by the eglfs platform plugin, which is left out"),
    (f"{QT}/plugins/generic/*",
     "evdev/tuio input plugins: loaded only when named by -plugin or QT_QPA_GENERIC_PLUGINS (kiosks)"),
    (f"{QT}/plugins/platformthemes/libqgtk3.so",
     "GTK 3 theme: needs the user's libgtk-3 (never bundled) yet would load the build machine's "
     "glib/pango/cairo next to it; Qt falls back to its own style and dialogs"),
    (f"{QT}/plugins/imageformats/libq[!s]*",
     "image readers for JPEG, TIFF, WebP, GIF, TGA, WBMP, ICO, ICNS: the app reads and writes "
     "only PNG (built into QtGui) and SVG (qsvg, kept)"),
    (f"{QT}/plugins/wayland-shell-integration/lib[!x]*",
     "Wayland shells of automotive, kiosk and Qt-compositor set-ups (ivi, fullscreen, wl-shell, "
     "qt-shell): desktop compositors speak xdg-shell, which is kept"),
)


def _dest(entry) -> str:
    return str(entry[0]).replace("\\", "/")


def prune_toc(toc, what: str):
    """The TOC without the entries a rule matches; prints what each rule removed."""
    kept = []
    removed: dict[str, list] = {reason: [] for _, reason in RULES}
    for entry in toc:
        dest = _dest(entry)
        reason = next((r for pattern, r in RULES if fnmatch.fnmatchcase(dest, pattern)), None)
        if reason is None:
            kept.append(entry)
        else:
            removed[reason].append(entry)
    for reason, entries in removed.items():
        if entries:
            _report(f"prune {what}", entries, reason)
    return kept


def needed_libraries(path: str | Path) -> set[str] | None:
    """The DT_NEEDED names of a 64-bit little-endian ELF file, or None when it is not one."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    needed: set[str] = set()
    for _name, sh_type, _f, _a, offset, size, link, _i, _al, _es in sections:
        if sh_type != 6:  # SHT_DYNAMIC
            continue
        strtab_offset = sections[link][4]
        for pos in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, pos)
            if tag == 0:  # DT_NULL
                break
            if tag == 1:  # DT_NEEDED
                start = strtab_offset + value
                needed.add(data[start:data.index(b"\0", start)].decode())
    return needed


def drop_orphans(binaries):
    """Remove shared libraries that no kept binary links against (Linux ELF only).

    Candidates are the libraries PyInstaller collected *as dependencies* (top level of the
    bundle and Qt's lib folder); everything else (extension modules, plugins, which Qt and
    Python load with dlopen) is a root. libpython is a root too: the bootloader dlopens it.
    If any root cannot be read as ELF, nothing is dropped.
    """
    def is_candidate(dest: str) -> bool:
        name = dest.rsplit("/", 1)[-1]
        return ("/" not in dest or dest.startswith(f"{QT}/lib/")) and ".so" in name and not name.startswith("libpython")

    by_name: dict[str, list] = {}
    for entry in binaries:
        by_name.setdefault(_dest(entry).rsplit("/", 1)[-1], []).append(entry)
    todo = [e for e in binaries if not is_candidate(_dest(e))]
    reached: set[str] = set()
    while todo:
        entry = todo.pop()
        needed = needed_libraries(entry[1])
        if needed is None:
            if is_candidate(_dest(entry)):
                continue  # a linker script or such: it needs nothing we can see
            return binaries  # cannot read a root: keep everything rather than guess
        for name in needed - reached:
            reached.add(name)
            todo.extend(by_name.get(name, []))
    orphans = [e for e in binaries if is_candidate(_dest(e)) and _dest(e).rsplit("/", 1)[-1] not in reached]
    if orphans:
        _report("prune binaries", orphans, "libraries only the pruned files linked against")
    return [e for e in binaries if e not in orphans]


def drop_dangling_symlinks(toc, kept):
    """Remove SYMLINK entries (PyInstaller links Qt's libraries into the top folder) whose
    target is no longer in the bundle; ``kept`` is every destination left."""
    def target(entry) -> str:
        base = _dest(entry).rsplit("/", 1)[0] if "/" in _dest(entry) else ""
        parts: list[str] = [p for p in base.split("/") if p]
        for part in str(entry[1]).replace("\\", "/").split("/"):
            if part == "..":
                parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        return "/".join(parts)

    dangling = [e for e in toc if e[2] == "SYMLINK" and target(e) not in kept]
    return [e for e in toc if e not in dangling]


def _report(what: str, entries, reason: str) -> None:
    size = sum(Path(e[1]).stat().st_size for e in entries if Path(e[1]).is_file())
    names = sorted(_dest(e).rsplit("/", 1)[-1] for e in entries)
    names = ", ".join(names if len(names) <= 40 else [*names[:12], f"… and {len(names) - 12} more"])
    text = textwrap.fill(names, width=110, initial_indent="    ", subsequent_indent="    ")
    print(f"{what}: {len(entries)} files, {size / 1e6:.1f} MB — {reason}\n{text}", flush=True)
