"""Where the app keeps the user's files: the data folder (recovery files, the log).

Qt's application data location, so the platform's rules hold: on Linux
``$XDG_DATA_HOME/attnstudio/attnstudio`` (``~/.local/share/…`` without it), on macOS
``~/Library/Application Support/attnstudio/attnstudio``, on Windows ``%APPDATA%\\…``. It
needs no QApplication: the command line (``attnstudio recover --list``) asks too.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QStandardPaths

ORGANIZATION = "attnstudio"
APPLICATION = "attnstudio"
DISPLAY_NAME = "Attention Studio"


def name_the_app() -> None:
    """Set the organisation and application names that Qt's folders and QSettings use."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)


def data_folder() -> Path:
    """The app's data folder (not created)."""
    if not QCoreApplication.applicationName() or not QCoreApplication.organizationName():
        name_the_app()
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location or Path.home() / f".{APPLICATION}")


def recovery_folder() -> Path:
    """Where unsaved work is written aside (``studio.recovery``)."""
    return data_folder() / "recovery"


def log_path() -> Path:
    """The log: uncaught errors with their reports, and hard crashes (faulthandler)."""
    return data_folder() / "attnstudio.log"
