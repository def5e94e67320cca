"""What every stage run does around its core: log keys, run keys, the client's config, errors.

One scaffold for the three handlers, so each does the same thing the same way:
- the run's keys are bound to every log line;
- every S3 key an event names must lie under the run's own prefix;
- a retry of the stage resumes the run a transient error failed;
- the client's config is loaded, and the event's product type must be the client's;
- an error ends the run in run history (`Deps.record_error`): transient ones
  until the workflow's retry resumes the run, anything else for good, and
  the error propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from runtime.config import ClientConfig
from runtime.errors import InvalidEvent, TransientError
from runtime.handlers.deps import Deps
from runtime.observability import bind_run
from runtime.runstore import check_run_key


@dataclass(frozen=True)
class StageRun:
    """One stage of one run: where its errors are recorded and which keys it may read."""

    deps: Deps
    stage: str
    client_id: str
    run_id: str
    sync_type: str

    def __post_init__(self) -> None:
        bind_run(self.stage, self.client_id, self.sync_type, self.run_id)

    def key(self, key: str) -> str:
        """`key` when it lies under this run's prefix; InvalidEvent otherwise."""
        return check_run_key(key, self.client_id, self.run_id)

    def keys(self, keys: Iterable[str]) -> list[str]:
        """Every key checked with `key`."""
        return [self.key(key) for key in keys]

    @contextmanager
    def recording_errors(self, *, resumable: bool = True) -> Iterator[None]:
        """Record an error that escapes the block in run history, then let it propagate.

        `resumable=False`: the workflow's retry after a transient error is a
        new run, so this one is not left for it to resume.
        """
        try:
            yield
        except TransientError as exc:
            self.deps.record_error(
                self.client_id, self.run_id, exc, final=False, resumable=resumable
            )
            raise
        except Exception as exc:
            self.deps.record_error(self.client_id, self.run_id, exc, final=True)
            raise

    def resume(self) -> None:
        """A retry of the stage: reopen the run a transient error failed (no-op when it is open)."""
        self.deps.resume_run(self.client_id, self.run_id)

    def client_config(self, product_type: str) -> ClientConfig:
        """The client's config; InvalidEvent unless the event's product type is the client's.

        A stale event must not push records through another product's mapping.
        """
        config = self.deps.configs.get(self.client_id)
        check_product_type(config, product_type)
        return config

    @contextmanager
    def opened(self, product_type: str) -> Iterator[ClientConfig]:
        """Resume the run, then run the block with the client's config, recording its errors."""
        self.resume()
        with self.recording_errors():
            yield self.client_config(product_type)


def check_product_type(config: ClientConfig, product_type: str) -> None:
    """InvalidEvent unless the event's product type is the client's."""
    if config.product_type != product_type:
        raise InvalidEvent(
            f"event product_type {product_type!r} is not the client's {config.product_type!r}"
        )
