"""What `zipfile` raises on damaged or hostile archives, named once for every reader of uploads.

The Data Package importer and the Excel upload check both open zip files sent by users; the
standard library reports a bad archive through several unrelated exception types, listed here
with the case each one covers (each found by the fuzz tests in tests/unit/interop/).
"""

from __future__ import annotations

import zipfile
import zlib

#: `zipfile.ZipFile(data)` on bytes that are not a usable archive: a bad signature or central
#: directory (BadZipFile), a truncated file (EOFError), offsets pointing outside the data
#: (ValueError, OSError), an archive version the library cannot read (NotImplementedError).
OPEN_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    EOFError,
    ValueError,
    OSError,
    NotImplementedError,
)

#: `ZipFile.read(member)` of a damaged member: a bad local header or CRC (BadZipFile), corrupt
#: deflate data (zlib.error), a truncated member (EOFError), an unknown compression method
#: (NotImplementedError), an encrypted member without a password (RuntimeError), a member
#: whose header offset points before the start of the data ("negative seek value", ValueError)
#: or past what the file can seek to (OSError).
READ_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
)
