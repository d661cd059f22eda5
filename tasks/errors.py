"""How a task's ``run`` tells the engine what went wrong (anything else counts as transient)."""


class TaskError(Exception):
    """Base of the engine's own exceptions; the message becomes the task's ``error``."""

    default_message = "The task failed."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.default_message)


class PermanentError(TaskError):
    """Bad input or undecodable media: retrying cannot help, so the task fails at once."""


class TransientError(TaskError):
    """A failure worth retrying later (with backoff), e.g. storage briefly unreachable."""


class TaskTimeout(TransientError):
    """The attempt ran past its ``timeout_seconds``; its subprocesses were killed."""

    default_message = "The task ran past its time limit."


class TaskCancelled(TaskError):
    """Raised inside ``run`` once the task was cancelled or deleted; the engine stops it."""

    default_message = "The task was cancelled."


class WorkerShuttingDown(TaskError):
    """Raised inside ``run`` when the worker stops gracefully; the task is released, not failed."""

    default_message = "Released: the worker stopped before the task finished."
