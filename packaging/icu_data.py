"""The bundle's ICU data: only the parts Qt's own calls into ICU can reach (Linux).

PySide6's QtCore links ICU, whose ``libicudata.so.<N>`` is one 32 MB symbol,
``icudt<N>_dat``: an ICU "common data" package (format ``CmnD``) of ~3900 items. Qt calls
four ICU services (the ``ucol_``, ``ucnv_``, ``ucal_`` and ``u_strTo*`` functions QtCore
imports): collation (QCollator, file-name sorting), code-page converters (QStringConverter),
calendars and time-zone names (QTimeZone), case mapping (QLocale::toUpper). Each rule
below removes the data of an ICU service none of those reach. ``prune_library`` checks
that premise on the libraries being bundled, writes the smaller package and links it
into a library that exports the same symbol (``as`` and ``ld``, from binutils); if any
kept library imports another ICU function, or binutils is missing, it keeps the full one.

Package layout (ICU's ``ucmndata.h``): a data header of ``headerSize`` bytes (magic
0xda 0x27, ``dataFormat`` "CmnD"), then the table of contents: a uint32 count and one
(nameOffset, dataOffset) uint32 pair per item, offsets from the table's start; names are
sorted (ICU finds items by binary search) and every item starts 16-byte aligned.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

# (pattern on the item name without its "icudt73l/" prefix, reason)
RULES: tuple[tuple[str, str], ...] = (
    ("unit/*", "unit names (MeasureFormat): Qt never formats measures with ICU"),
    ("brkitr/*", "word/line break rules and CJK/Thai dictionaries (ubrk_): Qt breaks text itself"),
    ("curr/*", "currency names (ucurr_, number formats): Qt formats money from its own CLDR tables"),
    ("lang/*", "language display names (uloc_getDisplay*): Qt names languages from its own tables"),
    ("region/*", "region display names (uloc_getDisplay*): Qt names countries from its own tables"),
    ("translit/*", "transliterators (utrans_): never called by Qt"),
    ("rbnf/*", "spelled-out numbers (rule-based number format): never called by Qt"),
    ("unames.icu", "Unicode character names (u_charName): never called by Qt"),
)

# The ICU functions Qt may call without reaching any data the rules remove: collation,
# converters, calendars and time-zone display names (which use zone/, main and
# supplemental data, not lang/ or region/), and case mapping.
QT_MAY_CALL = re.compile(r"(ucol|ucnv|ucal)_\w+|u_strTo(Lower|Upper)|UCNV_(FROM|TO)_U_CALLBACK_\w+")

_MAGIC = b"\xda\x27"
_ALIGN = 16
_PAD = b"\xaa"  # what ICU's own tools pad with, so that a package reads back byte for byte


def _elf_sections(data: bytes) -> list[tuple]:
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    return [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]


def dynamic_symbols(data: bytes) -> dict[str, tuple[int, int, int]]:
    """Every .dynsym entry of an ELF file: name → (section index, value, size); index 0 = imported."""
    sections = _elf_sections(data)
    symbols: dict[str, tuple[int, int, int]] = {}
    for _n, sh_type, _f, _a, offset, size, link, _i, _al, entsize in sections:
        if sh_type != 11:  # SHT_DYNSYM
            continue
        strtab = sections[link][4]
        for pos in range(offset + entsize, offset + size, entsize):  # entry 0 is the null symbol
            name_at, _info, _other, shndx, value, sym_size = struct.unpack_from("<IBBHQQ", data, pos)
            start = strtab + name_at
            symbols[data[start:data.index(b"\0", start)].decode()] = (shndx, value, sym_size)
    return symbols


def icu_imports(path: str | Path, version: str) -> set[str]:
    """The ICU functions an ELF library imports, without their ``_<version>`` suffix."""
    suffix = f"_{version}"
    return {name.removesuffix(suffix) for name, (shndx, _v, _s) in dynamic_symbols(Path(path).read_bytes()).items()
            if shndx == 0 and name.endswith(suffix)}


def package_of(library: bytes, symbol: str) -> bytes:
    """The bytes of the ``icudt<N>_dat`` package inside libicudata."""
    shndx, value, size = dynamic_symbols(library).get(symbol, (0, 0, 0))
    if shndx == 0 or size == 0:
        raise ValueError(f"the library defines no {symbol}")
    _n, _t, _f, addr, offset, *_ = _elf_sections(library)[shndx]
    start = value - addr + offset
    return library[start:start + size]


def read_package(data: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(the data header, [(item name, item bytes)]) of an ICU common data package."""
    header_size, = struct.unpack_from("<H", data, 0)
    if data[2:4] != _MAGIC or data[12:16] != b"CmnD" or data[4 + 4] != 0:  # isBigEndian = 0
        raise ValueError("not a little-endian ICU common data package (CmnD)")
    toc = header_size
    count, = struct.unpack_from("<I", data, toc)
    entries = [struct.unpack_from("<II", data, toc + 4 + 8 * i) for i in range(count)]
    ends = [toc + d for _, d in entries[1:]] + [len(data)]
    items = []
    for (name_at, data_at), end in zip(entries, ends):
        start = toc + name_at
        items.append((data[start:data.index(b"\0", start)].decode("ascii"), data[toc + data_at:end]))
    return data[:header_size], items


def write_package(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """An ICU common data package of these items (sorted by name, each 16-byte aligned)."""
    items = sorted(items)
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    table = 4 + 8 * len(items)
    name_offsets, at = [], table
    for name, _ in items:
        name_offsets.append(at)
        at += len(name) + 1
    body, data_offsets = bytearray(), []
    at = -(-(table + len(names)) // _ALIGN) * _ALIGN
    for _, blob in items:
        data_offsets.append(at)
        body += blob + _PAD * (-len(blob) % _ALIGN)
        at += len(blob) + (-len(blob) % _ALIGN)
    toc = struct.pack("<I", len(items)) + b"".join(struct.pack("<II", n, d) for n, d in zip(name_offsets, data_offsets))
    toc += names
    toc += _PAD * (data_offsets[0] - len(toc) if items else 0)
    return header + toc + bytes(body)


def removed_by(name: str) -> str | None:
    """The reason a rule removes this item (name without the package prefix), or None."""
    return next((reason for pattern, reason in RULES if fnmatch.fnmatchcase(name, pattern)), None)


def prune_package(data: bytes) -> tuple[bytes, dict[str, list[tuple[str, int]]]]:
    """The package without the items the rules remove, and {reason: [(name, bytes)]} removed."""
    header, items = read_package(data)
    kept, removed = [], {reason: [] for _, reason in RULES}
    for name, blob in items:
        reason = removed_by(name.split("/", 1)[-1])
        if reason is None:
            kept.append((name, blob))
        else:
            removed[reason].append((name, len(blob)))
    return write_package(header, kept), removed


def link_library(package: bytes, symbol: str, soname: str, target: Path) -> Path:
    """A shared library that exports ``symbol`` holding ``package`` (as libicudata does)."""
    with tempfile.TemporaryDirectory() as tmp:
        blob, source, obj = Path(tmp, "icu.dat"), Path(tmp, "icu.s"), Path(tmp, "icu.o")
        blob.write_bytes(package)
        source.write_text(
            '\t.section .rodata\n'
            f'\t.globl {symbol}\n\t.type {symbol}, %object\n\t.size {symbol}, {len(package)}\n'
            f'\t.balign {_ALIGN}\n{symbol}:\n\t.incbin "{blob}"\n'
            '\t.section .note.GNU-stack,"",%progbits\n'
        )
        subprocess.run(["as", "-o", str(obj), str(source)], check=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ld", "-shared", "-soname", soname, "-o", str(target), str(obj)], check=True)
    return target


def prune_library(library: Path, qt_libraries: list[Path], workdir: Path) -> Path:
    """The pruned copy of libicudata (in ``workdir``), or ``library`` itself when pruning is not safe."""
    version = library.name.split(".so.", 1)[-1].split(".")[0]
    calls = set().union(*(icu_imports(p, version) for p in qt_libraries))
    unknown = sorted(c for c in calls if not QT_MAY_CALL.fullmatch(c))
    symbol = f"icudt{version}_dat"
    why = ""
    if unknown:
        why = f"Qt imports ICU functions the rules were not checked for: {', '.join(unknown)}"
    elif not (shutil.which("as") and shutil.which("ld")):
        why = "binutils' as/ld are not installed"
    else:
        try:
            pruned, removed = prune_package(package_of(library.read_bytes(), symbol))
        except ValueError as error:  # a big-endian or otherwise unexpected build of ICU
            why = str(error)
    if why:
        print(f"prune ICU data: kept whole — {why}", file=sys.stderr, flush=True)
        return library
    for reason, entries in removed.items():
        if entries:
            size = sum(n for _, n in entries)
            print(f"prune ICU data: {len(entries)} items, {size / 1e6:.1f} MB — {reason}", flush=True)
    target = link_library(pruned, symbol, library.name, workdir / library.name)
    print(f"prune ICU data: {library.name} {library.stat().st_size / 1e6:.1f} MB → "
          f"{target.stat().st_size / 1e6:.1f} MB", flush=True)
    return target


def prune_icu_toc(binaries, workdir: Path):
    """The binaries TOC with libicudata's source swapped for its pruned copy (when safe)."""
    def dest(entry) -> str:
        return str(entry[0]).replace("\\", "/")

    def is_icu_data(entry) -> bool:
        return entry[2] != "SYMLINK" and dest(entry).rsplit("/", 1)[-1].startswith("libicudata.so.")

    def is_icu(entry) -> bool:
        return dest(entry).rsplit("/", 1)[-1].startswith("libicu")

    data = [e for e in binaries if is_icu_data(e)]
    if len(data) != 1:
        return binaries  # no ICU (a Qt built without it) or an unexpected layout: leave as is
    def is_elf(path: Path) -> bool:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"

    others = [Path(e[1]) for e in binaries if e[2] != "SYMLINK" and not is_icu(e) and is_elf(Path(e[1]))]
    source = prune_library(Path(data[0][1]), others, workdir)
    return [(e[0], str(source), e[2]) if e is data[0] else e for e in binaries]
