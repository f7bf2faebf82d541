"""Joining a Ray cluster for one command: ``--ray auto`` or ``--ray ADDRESS``.

``auto`` joins the cluster ``RAY_ADDRESS`` names, else one running on this machine (``ray start
--head``), else starts a local one for the command (stopped at its end). ``ADDRESS`` (``HOST:PORT``
or ``ray://HOST:10001``) must be reachable. A cluster started with token authentication (Ray 2.60's
``ray start --head`` default) is joined with the same token: ``RAY_AUTH_MODE=token`` and
``RAY_AUTH_TOKEN`` (or ``~/.ray/auth_token``) in the environment, as ``ray start --address`` needs.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ovmer.errors import ClusterError, OvmerError

AUTO = "auto"


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`ClusterError` saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ClusterError(
            f"--ray needs Ray Data ({exc}); install it with: pip install 'ovmer[ray]'"
        ) from None
    return ray


#: Seconds to wait for the head's port before giving up (Ray itself retries for minutes).
REACH_TIMEOUT_S = 5.0


def check_reachable(address: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """Fail fast, naming the address, when nothing listens at ``HOST:PORT`` (``ray://`` and other
    schemes are left to Ray)."""
    host, sep, port = address.rpartition(":")
    if "://" in address or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(
            f"no Ray head at {address} ({exc.strerror or exc}); start one with `ray start --head` "
            "or give its HOST:PORT (or --ray auto)"
        ) from None


@contextmanager
def ray_connection(address: str = AUTO) -> Iterator[Any]:
    """Connect this process to a cluster for the ``with`` block; yields the ``ray`` module.

    Already connected (a caller's own ``ray.init``): that connection is used and left open.

    Raises:
        ClusterError: Ray missing, or ``address`` not reachable (naming it and the token variables).
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if address == AUTO:
            if os.environ.get("RAY_ADDRESS"):
                check_reachable(os.environ["RAY_ADDRESS"])
            try:
                ray.init(address=AUTO, **options)  # RAY_ADDRESS, or a cluster on this machine
            except ConnectionError:
                ray.init(**options)  # none running: a local one for this command
        else:
            check_reachable(address)
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(
            f"cannot join the Ray cluster at {address!r}: {exc}. Check the address (HOST:PORT of "
            "`ray start --head`) and, for a cluster with token auth, RAY_AUTH_MODE=token and RAY_AUTH_TOKEN"
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def quiet_ray_data(ray: Any) -> None:
    """Ray Data without its own progress bars and INFO lines: ovmer's bar counts the samples, and
    Ray's logs stay in the session folder (``/tmp/ray/session_*/logs/ray-data``)."""
    # Ray Data's own settings copy warns about its deprecated fields on every run: not the user's to fix.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray\.data\.")
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # The one warning that says the bars are off (ovmer turned them off on purpose).
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)


def remote_result(ray: Any, ref: Any) -> Any:
    """``ray.get(ref)``, with an ovmer error raised on a worker raised here as itself (the CLI prints
    its one line: a missing model folder, a bad spec), not wrapped in Ray's remote traceback."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, OvmerError):
            raise exc.cause from None
        raise
