"""Run in a subprocess by test_icu_data.py: every Qt call that reaches ICU, answers as JSON.

Qt reaches ICU through collation (QCollator), converters (QStringDecoder, and
QXmlStreamReader for a document's declared encoding), case mapping (QLocale.toUpper /
toLower) and time zones (QTimeZone ids and display names). The test runs this once with
PySide6's own ICU data and once with the bundle's pruned copy first on the library path.
"""

import itertools
import json
import sys

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCollator,
    QDateTime,
    QIODevice,
    QLocale,
    QStringDecoder,
    Qt,
    QTimeZone,
    QXmlStreamReader,
)

WORDS = ["zebra", "Äpfel", "öl", "apple", "Ångström", "ça", "cote", "côte", "coté", "ch", "cz", "ij", "ll",
         "luz", "Étude", "中文", "日本", "한국", "ท่า", "ж", "я", "ё", "file10", "file9"]
COLLATION_LOCALES = ["sv_SE", "de_DE", "fr_CA", "cs_CZ", "es_ES", "zh_CN", "ja_JP", "th_TH", "ru_RU", "en_US"]
CASE_LOCALES = ["tr_TR", "az_AZ", "lt_LT", "el_GR", "nl_NL", "en_US"]
# Encoding names as ICU knows them, with Python's name for the same code page.
ENCODINGS = {"Shift_JIS": "shift_jis", "EUC-JP": "euc_jp", "GB18030": "gb18030", "windows-1251": "cp1251",
             "windows-1252": "cp1252", "KOI8-R": "koi8_r", "ISO-8859-15": "iso8859_15", "IBM437": "cp437",
             "macintosh": "mac_roman"}
TEXT = "Grüße, Привет, 日本語, ½€"
ZONE_LOCALES = ["de_DE", "ja_JP", "fr_FR", "ar_EG", "ru_RU", "en_US", "hi_IN", "zh_TW"]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Argentina/Buenos_Aires"]


def _xml_text(encoding: str, data: bytes) -> str:
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QXmlStreamReader(buffer)
    reader.readNextStartElement()
    return reader.readElementText()


def answers() -> dict:
    out: dict = {}
    for name in COLLATION_LOCALES:
        collator = QCollator(QLocale(name))
        out[f"sort {name}"] = sorted(WORDS, key=collator.sortKey)
        out[f"compare {name}"] = [collator.compare(a, b) for a, b in itertools.pairwise(WORDS)]
        collator.setNumericMode(True)
        collator.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        out[f"numeric sort {name}"] = sorted(WORDS, key=collator.sortKey)
    for name in CASE_LOCALES:
        locale = QLocale(name)
        out[f"case {name}"] = [locale.toUpper("iıİstraße ǆ ΐ ά"), locale.toLower("IİIÌΣΑΣ Ǆ")]
    for icu_name, python_name in ENCODINGS.items():
        sample = "".join(ch for ch in TEXT if ch.encode(python_name, "ignore"))
        document = f'<?xml version="1.0" encoding="{icu_name}"?><a>{sample}</a>'.encode(python_name)
        decoder = QStringDecoder(icu_name)
        out[f"codec {icu_name}"] = {"valid": decoder.isValid(), "name": decoder.name(),
                                    "decoded": _xml_text(icu_name, document), "python": sample}
    out["codecs"] = QStringDecoder.availableCodecs()
    when = QDateTime.fromSecsSinceEpoch(1_750_000_000)
    kinds = [(t, n) for t in (QTimeZone.TimeType.StandardTime, QTimeZone.TimeType.DaylightTime,
                              QTimeZone.TimeType.GenericTime)
             for n in (QTimeZone.NameType.LongName, QTimeZone.NameType.ShortName, QTimeZone.NameType.OffsetName)]
    for name in ZONE_LOCALES:
        locale = QLocale(name)
        for zone_id in ZONES:
            zone = QTimeZone(zone_id.encode())
            out[f"zone {name} {zone_id}"] = [zone.displayName(t, n, locale) for t, n in kinds] + [
                zone.displayName(when, QTimeZone.NameType.LongName, locale)]
    out["zone aliases"] = [bytes(QTimeZone(alias).id()).decode() for alias in (b"US/Eastern", b"Asia/Calcutta")]
    return out


if __name__ == "__main__":
    result = answers()
    with open("/proc/self/maps") as maps:  # which libicudata gave them
        loaded = sorted({line.split()[-1] for line in maps if "libicudata" in line})
    json.dump({"icudata": loaded, "answers": result}, sys.stdout, ensure_ascii=False)
