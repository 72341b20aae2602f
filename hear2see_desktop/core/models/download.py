"""Downloads a catalogue entry's files into the models folder: resumable, verified, cancellable.

Only the user starts a download (`hear2see models download`, the Models dialog); nothing else in the app
reaches the network. Each file streams into `NAME.part` next to its final name; after an interruption the
next run asks for the rest with `Range: bytes=N-` (a 206 appends, a 200 starts again). Connection errors,
early closes and 5xx answers are retried with exponential back-off. A finished file is checked against its
SHA-256 (the catalogue's, else the hub's: huggingface.co reports an LFS file's SHA-256 as `X-Linked-Etag` /
`ETag`, which we read even from the redirect hop), then renamed into place, so the final name only ever holds
a complete, verified file. Cancelling keeps the `.part` for a later resume. A zip (Vosk) unpacks into a
temporary folder beside its destination and is renamed into place; entries that would land outside it are
refused. Certificates come from the system store (truststore when installed, SSL_CERT_FILE/SSL_CERT_DIR
when set), and urllib's usual HTTP(S)_PROXY / NO_PROXY variables are honoured, so it works behind company
proxies.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections import deque
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO

from hear2see_desktop import __version__
from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, Hear2SeeError, ModelMissingError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.models.catalogue import CatalogueEntry, ModelFile

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
USER_AGENT = f"hear2see/{__version__}"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_REPORT_EVERY_S = 0.1
_SPEED_WINDOW_S = 5.0


class DownloadFailedError(Hear2SeeError):
    """A download could not finish (network, server, checksum); the message says what to do next."""


class _Retryable(Exception):
    """A failure worth another try; `made_progress` resets the try count (the link works, it just drops)."""

    def __init__(self, reason: str, made_progress: bool = False) -> None:
        super().__init__(reason)
        self.made_progress = made_progress


class _RangeRefused(_Retryable):
    """The server would not resume the .part (HTTP 416): it must be fetched from the start."""


def ssl_context() -> ssl.SSLContext:
    """Certificates from the system's store, so a company proxy's root certificate is trusted.

    SSL_CERT_FILE / SSL_CERT_DIR win when set (truststore would ignore them on Windows and macOS); else
    truststore's native store when it is installed; else OpenSSL's default paths.
    """
    cafile = os.environ.get("SSL_CERT_FILE", "").strip() or None
    capath = os.environ.get("SSL_CERT_DIR", "").strip() or None
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    try:
        import truststore
    except ImportError:
        return ssl.create_default_context()
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def hub_sha256(value: str | None) -> str | None:
    """The SHA-256 in an `ETag` / `X-Linked-Etag` header, or None when it is not one (a git SHA-1, an md5)."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"').lower()
    return text if _HEX64.match(text) else None


def final_path(target: Path, file: ModelFile) -> Path:
    """Where a file lands: inside `target`, or for an archive beside it (it unpacks into `target`)."""
    base = target.parent if file.unpack else target
    return base.joinpath(*PurePosixPath(file.path).parts)


def part_path(target: Path, file: ModelFile) -> Path:
    """The `.part` file a download of `file` writes to until it is complete and verified."""
    final = final_path(target, file)
    return final.with_name(final.name + PART_SUFFIX)


def human_bytes(count: float) -> str:
    """`count` bytes as the user reads them: "820 kB", "41 MB", "3.4 GB" (decimal units)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(count)} B"


def human_duration(seconds: float) -> str:
    """A time left as the user reads it: "45 s", "1 min 20 s", "2 h 5 min"."""
    whole = max(0, int(round(seconds)))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


class _HeaderRecorder(urllib.request.HTTPRedirectHandler):
    """Follows redirects like urllib does, remembering the hub's file hash sent on the redirect hop."""

    def __init__(self) -> None:
        super().__init__()
        self.linked_etag: str | None = None

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201 - urllib's signature
        self.linked_etag = hub_sha256(headers.get("X-Linked-Etag")) or self.linked_etag
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Meter:
    """Bytes done of bytes expected over all files, with a speed over the last few seconds."""

    def __init__(self, progress: ProgressFn, sizes: list[int]) -> None:
        self.progress = progress
        self.totals = list(sizes)
        self.done = [0] * len(sizes)
        self.label = ""
        self._samples: deque[tuple[float, int]] = deque()
        self._fetched = 0
        self._last_report = 0.0

    def set_total(self, index: int, total: int) -> None:
        self.totals[index] = total

    def set_done(self, index: int, done: int) -> None:
        self.done[index] = done

    def add(self, index: int, count: int) -> None:
        self.done[index] += count
        self._fetched += count
        self.report()

    def restart_speed(self) -> None:
        """Forget old samples (after a pause for a retry) so the speed shows the link as it is now."""
        self._samples.clear()

    def message(self) -> str:
        now = time.monotonic()
        self._samples.append((now, self._fetched))
        while len(self._samples) > 2 and now - self._samples[0][0] > _SPEED_WINDOW_S:
            self._samples.popleft()
        started, fetched_then = self._samples[0]
        if now - started < 0.5:
            return f"Downloading {self.label}"
        speed = (self._fetched - fetched_then) / (now - started)
        if speed <= 0:
            return f"Downloading {self.label}, stalled"
        left = max(0, sum(self.totals) - sum(self.done)) / speed
        return f"Downloading {self.label}, {human_bytes(speed)}/s, {human_duration(left)} left"

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_report >= _REPORT_EVERY_S:
            self._last_report = now
            total = max(sum(self.totals), sum(self.done), 1)
            self.progress(sum(self.done), total, self.message(), None)


def _content_range_start(value: str | None) -> int | None:
    match = re.match(r"^\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*$", value or "")
    return int(match.group(1)) if match else None


def _wait(seconds: float, cancelled: CancelledFn) -> None:
    """Sleep for a retry's back-off, still answering a cancel within a tenth of a second."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        raise_if_cancelled(cancelled)
        time.sleep(min(0.1, left))


def _zip_member_parts(name: str) -> tuple[str, ...] | None:
    """The path parts of a zip entry, or None when it would land outside the folder (zip slip)."""
    text = name.replace("\\", "/")
    pure = PurePosixPath(text)
    if text.startswith("/") or pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        return None
    return tuple(part for part in pure.parts if part not in ("", "."))


class DownloadJob:
    """Fetch a catalogue entry (or a list of files) into `target_folder`; `run` returns that folder.

    `target_folder` defaults to the entry's folder under the models root. Files already complete are
    skipped, so running the job again finishes an interrupted install. `retries` counts tries in a row
    that got nothing; `backoff_s` doubles after each.
    """

    def __init__(
        self,
        source: CatalogueEntry | Sequence[ModelFile],
        target_folder: Path | None = None,
        *,
        title: str | None = None,
        retries: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 30.0,
        chunk_bytes: int = 1 << 20,
    ) -> None:
        if isinstance(source, CatalogueEntry):
            self.files = list(source.files)
            self.label = title or source.name
            self.marker = source.marker
            if target_folder is None:
                target_folder = source.install_dir(paths.models_dir())
        else:
            self.files = list(source)
            self.label = title or (PurePosixPath(self.files[0].path).name if self.files else "files")
            self.marker = None
        if target_folder is None:
            raise BadInputError("A download of loose files needs a target folder.")
        if any(file.unpack for file in self.files) and len(self.files) != 1:
            raise BadInputError("A download that unpacks an archive takes exactly one file.")
        self.target = Path(target_folder).expanduser()
        self.retries = max(1, retries)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.chunk_bytes = chunk_bytes
        self._recorder = _HeaderRecorder()
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl_context()), self._recorder)

    def _is_done(self, file: ModelFile) -> bool:
        """A plain file is done once under its final name; an archive once its folder holds the marker."""
        if not file.unpack:
            return final_path(self.target, file).is_file()
        return (self.target / self.marker).exists() if self.marker else self.target.is_dir()

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> Path:
        """Download what is missing, verify it and move it into place; raises a one-sentence error."""
        pending = [file for file in self.files if not self._is_done(file)]
        if not pending:
            progress(1, 1, f"{self.label} is already installed", None)
            return self.target
        self._check_free_space(pending)
        meter = _Meter(progress, [file.size_bytes for file in pending])
        for index, file in enumerate(pending):
            raise_if_cancelled(cancelled)
            meter.label = self.label if len(pending) == 1 else f"{self.label} ({index + 1}/{len(pending)})"
            archive = final_path(self.target, file)
            if not (file.unpack and archive.is_file()):
                self._download(file, index, meter, cancelled)
            meter.set_done(index, max(meter.done[index], meter.totals[index]))
            meter.report(force=True)
            if file.unpack:
                self._unpack(file, archive, progress, cancelled)
        progress(1, 1, f"Installed {self.label}", None)
        return self.target

    def _check_free_space(self, pending: list[ModelFile]) -> None:
        """Refuse early, with a sentence, when the drive clearly cannot hold the download."""
        needed = 0
        for file in pending:
            part = part_path(self.target, file)
            have = part.stat().st_size if part.is_file() else 0
            needed += max(0, file.size_bytes - have) + (file.size_bytes if file.unpack else 0)
        existing = self.target
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        try:
            free = shutil.disk_usage(existing).free
        except OSError:
            return
        if needed > free:
            raise BadInputError(
                f"{self.label} needs about {human_bytes(needed)} but {existing} has only {human_bytes(free)} free: "
                "free some space or choose another models folder with `hear2see models path --set DIR`."
            )

    def _download(self, file: ModelFile, index: int, meter: _Meter, cancelled: CancelledFn) -> None:
        """Fetch one file into its .part, retrying; verify it and rename it to its final name."""
        final = final_path(self.target, file)
        part = part_path(self.target, file)
        part.parent.mkdir(parents=True, exist_ok=True)
        failures = 0
        while True:
            raise_if_cancelled(cancelled)
            try:
                digest, hub_digest = self._attempt(file, part, index, meter, cancelled)
                break
            except _Retryable as error:
                failures = 1 if error.made_progress else failures + 1
                if failures >= self.retries:
                    raise DownloadFailedError(
                        f"Could not download {file.url} after {failures} {'try' if failures == 1 else 'tries'} "
                        f"({error}): check the network "
                        "connection or proxy settings (HTTPS_PROXY) and run the download again; it resumes "
                        "where it stopped."
                    ) from error
                delay = self.backoff_s * 2 ** (failures - 1)
                log.info("download of %s failed (%s); retrying in %.1f s", file.url, error, delay)
                _wait(delay, cancelled)
                meter.restart_speed()
        expected = file.sha256 or hub_digest
        if expected and digest != expected:
            part.unlink(missing_ok=True)
            raise DownloadFailedError(
                f"{final.name} from {file.url} does not match its SHA-256 checksum (damaged in transit or "
                "changed on the server), so it was deleted: run the download again."
            )
        if not expected:
            log.info("no SHA-256 known for %s; kept after a complete, length-checked download", file.url)
        os.replace(part, final)

    def _open(self, file: ModelFile, have: int) -> http.client.HTTPResponse:
        """The server's answer for the rest of `file` from byte `have`; errors become sentences or retries."""
        request = urllib.request.Request(file.url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        self._recorder.linked_etag = None
        try:
            return self._opener.open(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code in (404, 410):
                raise ModelMissingError(
                    f"The server has no file at {file.url} (HTTP {error.code}): the catalogue entry is out of date; "
                    "download the model by hand and add it with `hear2see models import`."
                ) from error
            if error.code in (401, 403):
                raise DownloadFailedError(
                    f"The server refused {file.url} (HTTP {error.code}): the model may need a log-in or a licence "
                    "accepted on its web page; download it in a browser and add it with `hear2see models import`."
                ) from error
            if error.code == 416:
                raise _RangeRefused("the partial file no longer matches the server's", made_progress=True) from error
            if error.code >= 500 or error.code in (408, 429):
                raise _Retryable(f"HTTP {error.code} {error.reason}") from error
            raise DownloadFailedError(
                f"The server answered HTTP {error.code} {error.reason} for {file.url}: try again later."
            ) from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, ssl.SSLCertVerificationError):
                raise DownloadFailedError(
                    f"The certificate of {urllib.parse.urlparse(file.url).hostname} could not be verified "
                    f"({error.reason.verify_message}): behind a company proxy, install its root certificate in "
                    "the system store or point SSL_CERT_FILE at it."
                ) from error
            raise _Retryable(str(error.reason)) from error
        except (OSError, http.client.HTTPException) as error:
            raise _Retryable(str(error) or type(error).__name__) from error

    def _attempt(
        self, file: ModelFile, part: Path, index: int, meter: _Meter, cancelled: CancelledFn
    ) -> tuple[str, str | None]:
        """One try: resume or restart the .part; returns (its SHA-256, the hub's SHA-256 if it sent one)."""
        have = part.stat().st_size if part.is_file() else 0
        try:
            response = self._open(file, have)
        except _RangeRefused:
            part.unlink(missing_ok=True)
            raise
        with response:
            append = have > 0 and response.status == 206
            if append and _content_range_start(response.headers.get("Content-Range")) != have:
                raise _Retryable("the server resumed at the wrong place", made_progress=True)
            if not append:
                have = 0
            length = response.headers.get("Content-Length")
            expected_size = have + int(length) if length and length.isdigit() else None
            if expected_size is not None:
                meter.set_total(index, expected_size)
            hub_digest = (self._recorder.linked_etag or hub_sha256(response.headers.get("X-Linked-Etag"))
                          or hub_sha256(response.headers.get("ETag")))
            hasher = hashlib.sha256()
            meter.set_done(index, have)
            with open(part, "ab" if append else "wb") as out:
                if append:
                    self._hash_existing(part, have, hasher, cancelled)
                received = self._stream(response, out, hasher, index, meter, cancelled)
        size = have + received
        if expected_size is not None and size != expected_size:
            raise _Retryable(f"the connection closed after {human_bytes(size)} of {human_bytes(expected_size)}",
                             made_progress=received > 0)
        return hasher.hexdigest(), hub_digest

    def _hash_existing(self, part: Path, have: int, hasher: hashlib._Hash, cancelled: CancelledFn) -> None:
        """Feed the bytes kept from an earlier try to the hash, so the whole file is verified."""
        with open(part, "rb") as kept:
            left = have
            while left > 0:
                raise_if_cancelled(cancelled)
                block = kept.read(min(self.chunk_bytes, left))
                if not block:
                    break
                hasher.update(block)
                left -= len(block)

    def _stream(
        self, response: IO[bytes], out: IO[bytes], hasher: hashlib._Hash, index: int, meter: _Meter,
        cancelled: CancelledFn,
    ) -> int:
        """Copy the body to `out` chunk by chunk, checking for a cancel between chunks."""
        received = 0
        while True:
            raise_if_cancelled(cancelled)
            try:
                chunk = response.read(self.chunk_bytes)
            except (OSError, http.client.HTTPException) as error:
                raise _Retryable(str(error) or type(error).__name__, made_progress=received > 0) from error
            if not chunk:
                return received
            out.write(chunk)
            hasher.update(chunk)
            received += len(chunk)
            meter.add(index, len(chunk))

    def _unpack(self, file: ModelFile, archive: Path, progress: ProgressFn, cancelled: CancelledFn) -> None:
        """Unpack a verified zip into a temporary folder beside the target, then rename it into place."""
        self.target.parent.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.unpacking-", dir=self.target.parent))
        try:
            payload = workdir / "payload"  # one level down, so a half-unpacked model never looks like one
            payload.mkdir()
            try:
                self._extract(archive, payload, file.url, progress, cancelled)
            except (zipfile.BadZipFile, EOFError) as error:
                archive.unlink(missing_ok=True)
                raise DownloadFailedError(
                    f"{archive.name} from {file.url} is damaged ({error}), so it was deleted: run the download again."
                ) from error
            children = list(payload.iterdir())
            source = children[0] if len(children) == 1 and children[0].is_dir() else payload
            if self.target.exists():
                os.replace(self.target, workdir / "replaced")
            os.replace(source, self.target)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        archive.unlink(missing_ok=True)

    def _extract(self, archive: Path, payload: Path, url: str, progress: ProgressFn, cancelled: CancelledFn) -> None:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            for info in members:
                if _zip_member_parts(info.filename) is None:
                    archive.unlink(missing_ok=True)
                    raise DownloadFailedError(
                        f"{archive.name} from {url} holds an entry that would unpack outside its folder "
                        f"({info.filename}), so it was refused and deleted."
                    )
            total = max(1, sum(info.file_size for info in members))
            done = 0
            for info in members:
                raise_if_cancelled(cancelled)
                parts = _zip_member_parts(info.filename) or ()
                if not parts:
                    continue
                destination = payload.joinpath(*parts)
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as source, open(destination, "wb") as out:
                    while block := source.read(self.chunk_bytes):  # a bad CRC raises BadZipFile at the end
                        raise_if_cancelled(cancelled)
                        out.write(block)
                        done += len(block)
                progress(done, total, f"Unpacking {self.label}", None)

