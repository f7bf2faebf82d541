"""A minimal Hugging Face Hub on 127.0.0.1 (standard library ``http.server``) for download tests.

It answers the requests that ``huggingface_hub`` 2.x (``hf_hub_download``, ``snapshot_download``) and
transformers' ``from_pretrained`` make, the way huggingface.co answers them:

``HEAD|GET /{repo_id}/resolve/{revision}/{path}``
    Regular (git) files: 200 with ``X-Repo-Commit``, ``ETag`` (the git blob sha1) and ``Content-Length``.
    LFS files (``.safetensors``, ``.pth``, …): 302 to a second "CDN" server on another port, with
    ``X-Repo-Commit``, ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size``; the client stops there
    (different origin, like cdn-lfs.huggingface.co) and downloads the blob from the CDN.
``GET /api/models/{repo_id}[/revision/{revision}]``
    Repo info: ``id``, ``sha`` and ``siblings``.
``GET /api/models/{repo_id}/tree/{revision}[/{path}]``
    Tree listing (``recursive`` honoured), with ``lfs`` entries for LFS files.

Errors carry the Hub's ``X-Error-Code`` header so that the client raises the right exception: unknown
repo -> 401 ``RepoNotFound``, unknown revision -> 404 ``RevisionNotFound``, absent file -> 404
``EntryNotFound`` (with ``X-Repo-Commit``, so that the client may cache the absence).

Revisions are branch names (``main`` by default) or 40-hex commit shas. Every request is logged in
:attr:`FakeHub.requests`, so tests can assert which revisions were asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

#: File types huggingface.co stores in LFS (the default ``.gitattributes`` of a new repo, abridged).
LFS_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".h5", ".msgpack", ".onnx", ".npz", ".model")


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: the ETag the Hub gives a regular file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lfs_pointer(data: bytes) -> bytes:
    sha = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n".encode()


@dataclass(frozen=True)
class HubRequest:
    """One request the hub answered (path as sent, still URL-quoted; query dropped)."""

    method: str
    path: str
    status: int
    server: str = "hub"  # "hub" or "cdn"


@dataclass
class _Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> {path: content}
    branches: dict[str, str] = field(default_factory=dict)  # branch -> sha


@dataclass
class FakeHub:
    """Repos, commits and branches served by the two local servers (start with :meth:`start`)."""

    repos: dict[str, _Repo] = field(default_factory=dict)
    requests: list[HubRequest] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> content (what the CDN serves)
    endpoint: str = ""
    cdn: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)

    # ------------------------------------------------------------------ content
    def add_commit(
        self,
        repo_id: str,
        files: Mapping[str, bytes | str | Path],
        *,
        sha: str | None = None,
        branch: str | None = "main",
    ) -> str:
        """Add a commit holding exactly ``files`` (path in repo -> bytes, text or a local file).

        ``sha`` defaults to a hash of the content; ``branch`` (if not ``None``) is moved to the commit.
        Returns the commit sha.
        """
        content: dict[str, bytes] = {}
        for path, value in files.items():
            if isinstance(value, Path):
                content[path] = value.read_bytes()
            elif isinstance(value, str):
                content[path] = value.encode()
            else:
                content[path] = bytes(value)
        if sha is None:
            digest = hashlib.sha1(repo_id.encode())
            for path in sorted(content):
                digest.update(path.encode() + b"\0" + git_blob_sha1(content[path]).encode())
            sha = digest.hexdigest()
        if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
            raise ValueError(f"commit sha must be 40 lowercase hex digits, not {sha!r}")
        with self.lock:
            repo = self.repos.setdefault(repo_id, _Repo())
            repo.commits[sha] = content
            if branch is not None:
                repo.branches[branch] = sha
            for data in content.values():
                self.blobs[hashlib.sha256(data).hexdigest()] = data
        return sha

    def add_folder(self, repo_id: str, folder: Path, **kwargs: Any) -> str:
        """Add a commit with every file under ``folder`` (relative paths, ``/``-separated)."""
        files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add_commit(repo_id, files, **kwargs)

    def resolve(self, repo_id: str, revision: str) -> str | None:
        """The commit sha a revision names, or ``None``."""
        repo = self.repos.get(repo_id)
        if repo is None:
            return None
        if revision in repo.commits:
            return revision
        return repo.branches.get(revision)

    # ------------------------------------------------------------------ request log
    def log(self, method: str, path: str, status: int, server: str = "hub") -> None:
        with self.lock:
            self.requests.append(HubRequest(method, path, status, server))

    def resolve_requests(self, repo_id: str) -> list[tuple[str, str]]:
        """(revision, path) of every ``/resolve/`` request made for ``repo_id``, in order."""
        prefix = f"/{repo_id}/resolve/"
        found = []
        for request in list(self.requests):
            if request.server == "hub" and request.path.startswith(prefix):
                revision, _, path = request.path[len(prefix) :].partition("/")
                found.append((unquote(revision), unquote(path)))
        return found

    def revisions_requested(self, repo_id: str) -> set[str]:
        """Every revision named in a resolve, tree or info request for ``repo_id``."""
        revisions = {revision for revision, _ in self.resolve_requests(repo_id)}
        for request in list(self.requests):
            for kind in ("tree", "revision"):
                prefix = f"/api/models/{repo_id}/{kind}/"
                if request.path.startswith(prefix):
                    revisions.add(unquote(request.path[len(prefix) :].split("/")[0]))
        return revisions

    # ------------------------------------------------------------------ servers
    def start(self) -> FakeHub:
        hub_server = ThreadingHTTPServer(("127.0.0.1", 0), _make_hub_handler(self))
        cdn_server = ThreadingHTTPServer(("127.0.0.1", 0), _make_cdn_handler(self))
        for server in (hub_server, cdn_server):
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self._servers.append(server)
        self.endpoint = f"http://127.0.0.1:{hub_server.server_address[1]}"
        self.cdn = f"http://127.0.0.1:{cdn_server.server_address[1]}"
        return self

    def stop(self) -> None:
        """Shut both servers down (later requests get 'connection refused', as with no network)."""
        while self._servers:
            server = self._servers.pop()
            server.shutdown()
            server.server_close()


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    server_name_in_log = "hub"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(
        self, status: int, headers: Mapping[str, str] | None = None, body: bytes = b"", *, send_body: bool
    ) -> None:
        self.hub.log(self.command, urlsplit(self.path).path, status, self.server_name_in_log)
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, *, send_body: bool, **extra: str) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Error-Code": code,
            "X-Error-Message": message,
            **extra,
        }
        self._reply(status, headers, json.dumps({"error": message}).encode(), send_body=send_body)


def _make_hub_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class HubHandler(_Handler):
        def do_HEAD(self) -> None:
            self._route(send_body=False)

        def do_GET(self) -> None:
            self._route(send_body=True)

        def _route(self, *, send_body: bool) -> None:
            url = urlsplit(self.path)
            path = url.path
            if path.startswith("/api/models/"):
                self._api(path[len("/api/models/") :], parse_qs(url.query), send_body=send_body)
            elif "/resolve/" in path:
                repo_id, _, rest = path.lstrip("/").partition("/resolve/")
                revision, _, filename = rest.partition("/")
                self._resolve(unquote(repo_id), unquote(revision), unquote(filename), send_body=send_body)
            else:
                self._error(
                    404, "NotFound", "Sorry, we can't find the page you are looking for.", send_body=send_body
                )

        def _commit(
            self, repo_id: str, revision: str, *, send_body: bool
        ) -> tuple[str, dict[str, bytes]] | None:
            if repo_id not in hub.repos:
                self._error(401, "RepoNotFound", "Repository not found", send_body=send_body)
                return None
            sha = hub.resolve(repo_id, revision)
            if sha is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", send_body=send_body)
                return None
            return sha, hub.repos[repo_id].commits[sha]

        def _resolve(self, repo_id: str, revision: str, filename: str, *, send_body: bool) -> None:
            found = self._commit(repo_id, revision, send_body=send_body)
            if found is None:
                return
            sha, files = found
            data = files.get(filename)
            if data is None:
                self._error(
                    404, "EntryNotFound", "Entry not found", send_body=send_body, **{"X-Repo-Commit": sha}
                )
                return
            if filename.endswith(LFS_SUFFIXES):
                sha256 = hashlib.sha256(data).hexdigest()
                headers = {
                    "Location": f"{hub.cdn}/blobs/{sha256}?filename={quote(filename)}",
                    "X-Repo-Commit": sha,
                    "ETag": f'"{git_blob_sha1(_lfs_pointer(data))}"',
                    "X-Linked-Etag": f'"{sha256}"',
                    "X-Linked-Size": str(len(data)),
                    "Content-Type": "text/plain; charset=utf-8",
                }
                self._reply(302, headers, send_body=send_body)
                return
            headers = {
                "X-Repo-Commit": sha,
                "ETag": f'"{git_blob_sha1(data)}"',
                "Content-Type": "application/octet-stream",
                "Accept-Ranges": "bytes",
            }
            self._reply(200, headers, data, send_body=send_body)

        def _api(self, rest: str, query: dict[str, list[str]], *, send_body: bool) -> None:
            # rest (still quoted) = "<repo_id>[/revision/<rev>]" or "<repo_id>/tree/<rev>[/<path>]".
            for repo_id in sorted(hub.repos, key=len, reverse=True):
                if rest == repo_id or rest.startswith(repo_id + "/"):
                    tail = rest[len(repo_id) :].lstrip("/")
                    break
            else:
                self._error(401, "RepoNotFound", "Repository not found", send_body=send_body)
                return
            kind, _, tail = tail.partition("/")
            revision, _, subpath = (unquote(part) for part in tail.partition("/"))  # each part is quoted
            if kind in ("", "revision"):
                found = self._commit(repo_id, revision or "main", send_body=send_body)
                if found is not None:
                    sha, files = found
                    info = {
                        "id": repo_id,
                        "modelId": repo_id,
                        "sha": sha,
                        "private": False,
                        "gated": False,
                        "disabled": False,
                        "tags": [],
                        "siblings": [{"rfilename": name} for name in sorted(files)],
                    }
                    self._json(info, send_body=send_body)
            elif kind == "tree":
                found = self._commit(repo_id, revision, send_body=send_body)
                if found is not None:
                    recursive = query.get("recursive", ["False"])[0].lower() == "true"
                    self._tree(found[1], subpath.strip("/"), recursive, send_body=send_body)
            else:
                self._error(404, "NotFound", f"no such API route: {kind}", send_body=send_body)

        def _tree(self, files: dict[str, bytes], subpath: str, recursive: bool, *, send_body: bool) -> None:
            prefix = subpath + "/" if subpath else ""
            below = {name: data for name, data in files.items() if name.startswith(prefix)}
            if subpath and not below:
                self._error(404, "EntryNotFound", f"{subpath} does not exist", send_body=send_body)
                return
            entries: dict[str, dict[str, Any]] = {}
            for name, data in sorted(below.items()):
                parts = name[len(prefix) :].split("/")
                for depth in range(1, len(parts)):  # the folders on the way
                    folder = prefix + "/".join(parts[:depth])
                    if recursive or depth == 1:
                        entries.setdefault(
                            folder,
                            {
                                "type": "directory",
                                "oid": git_blob_sha1(folder.encode()),
                                "size": 0,
                                "path": folder,
                            },
                        )
                if not recursive and len(parts) > 1:
                    continue
                entry: dict[str, Any] = {
                    "type": "file",
                    "oid": git_blob_sha1(data),
                    "size": len(data),
                    "path": name,
                }
                if name.endswith(LFS_SUFFIXES):
                    pointer = _lfs_pointer(data)
                    entry["oid"] = git_blob_sha1(pointer)
                    entry["lfs"] = {
                        "oid": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                        "pointerSize": len(pointer),
                    }
                entries[name] = entry
            self._json(list(entries.values()), send_body=send_body)

        def _json(self, payload: Any, *, send_body: bool) -> None:
            body = json.dumps(payload).encode()
            self._reply(200, {"Content-Type": "application/json"}, body, send_body=send_body)

    HubHandler.hub = hub
    return HubHandler


def _make_cdn_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class CdnHandler(_Handler):
        server_name_in_log = "cdn"

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def do_GET(self) -> None:
            self._serve(send_body=True)

        def _serve(self, *, send_body: bool) -> None:
            path = urlsplit(self.path).path
            data = hub.blobs.get(path[len("/blobs/") :]) if path.startswith("/blobs/") else None
            if data is None:
                self._reply(404, {"Content-Type": "text/plain"}, b"NoSuchKey", send_body=send_body)
                return
            headers = {
                "Content-Type": "application/octet-stream",
                "ETag": f'"{hashlib.md5(data).hexdigest()}"',
            }
            start = 0
            ranged = self.headers.get("Range", "")
            if ranged.startswith("bytes=") and ranged.endswith("-"):  # resume: "bytes=N-"
                start = int(ranged[len("bytes=") : -1])
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            self._reply(206 if start else 200, headers, data[start:], send_body=send_body)

    CdnHandler.hub = hub
    return CdnHandler


def point_clients_at(hub: FakeHub, monkeypatch: Any, home: Path) -> None:
    """Send huggingface_hub and transformers to ``hub``, with an empty cache under ``home``, online.

    huggingface_hub reads ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` once, at
    import, into ``huggingface_hub.constants``; the environment variables are set too (for code that
    reads them, such as ovmer's ``offline_mode`` and subprocesses) and the constants are patched.
    transformers keeps one shared ``HfApi`` whose endpoint was fixed when it was made: it is dropped.
    """
    from huggingface_hub import constants

    cache = home / "hub"
    for name in (
        "OVMER_OFFLINE",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    patched = {
        "ENDPOINT": hub.endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(cache),
        "HUGGINGFACE_HUB_CACHE": str(cache),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_DISABLE_XET": True,
    }
    for name, value in patched.items():
        monkeypatch.setattr(constants, name, value)
    try:
        import transformers.utils.hub as transformers_hub
    except ImportError:  # transformers is optional for plain hf_hub_download tests
        return
    monkeypatch.setattr(transformers_hub, "_hf_api", None)
